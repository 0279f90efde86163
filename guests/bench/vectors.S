/* Exit-cost benchmark guest: an EL1 vector table whose IRQ entry (current EL, SP_ELx) reads
 * CNTVCT_EL0 as its third instruction and calls bench_irq(stamp); every other entry goes to the
 * runtime's vectors (guests/lib/start.S), which report unexpected exceptions. */

	.text
	.balign	2048
	.global	bench_vectors
bench_vectors:
	.irp	n, 0, 1, 2, 3, 4
	.balign	128
	b	vectors + \n * 128
	.endr

	.balign	128			/* 0x280: IRQ, current EL with SP_ELx */
	sub	sp, sp, #176
	stp	x0, x1, [sp, #0]
	mrs	x0, cntvct_el0		/* the handler's first timestamp */
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x30, [sp, #144]
	bl	bench_irq
	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x30, [sp, #144]
	add	sp, sp, #176
	eret

	.irp	n, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	.balign	128
	b	vectors + \n * 128
	.endr
