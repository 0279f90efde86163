/* Bulkhead test guests: entry with an arm64 Image header, per-vCPU stacks, EL1 vectors. */
#define NR_CPUS		4
#define STACK_SIZE	0x4000
#define FRAME_SIZE	288	/* struct exc_frame in guest.h */

	.section .text.boot, "ax"
	.global _start
_start:
	b	primary_entry		/* code0/code1 */
	.long	0
	.quad	0x80000			/* text_offset */
	.quad	image_end - _start	/* image_size (includes bss and stacks) */
	.quad	0x2			/* flags: little-endian, 4 KiB pages */
	.quad	0, 0, 0			/* reserved */
	.ascii	"ARM\x64"		/* magic at 0x38 */
	.long	0			/* res5 */

/* Boot vCPU: set up, clear .bss, call main(); if main returns, power this vCPU off. */
primary_entry:
	bl	cpu_setup
	ldr	x0, =bss_start
	ldr	x1, =bss_end
1:	cmp	x0, x1
	b.hs	2f
	str	xzr, [x0], #8
	b	1b
2:	dsb	sy
	bl	main
	b	cpu_halt

/* Secondary vCPU started with PSCI CPU_ON(mpidr, secondary_entry, context): x0 = context. */
	.global	secondary_entry
secondary_entry:
	mov	x19, x0
	bl	cpu_setup		/* x0 = Aff0 afterwards */
	ldr	x1, =cpu_entry_fn
	ldr	x1, [x1, x0, lsl #3]
	mov	x0, x19
	cbz	x1, cpu_halt
	blr	x1
	b	cpu_halt

/* SP_EL1 = top of this vCPU's stack, VBAR_EL1 = vectors. Returns Aff0 in x0. Clobbers x0-x2. */
cpu_setup:
	msr	daifset, #0xf
	msr	spsel, #1
	mrs	x0, mpidr_el1
	and	x0, x0, #0xff
	cmp	x0, #NR_CPUS
	b.hs	park
	ldr	x1, =stacks_base
	add	x2, x0, #1
	lsl	x2, x2, #14		/* STACK_SIZE = 1 << 14 */
	add	x1, x1, x2
	mov	sp, x1
	ldr	x1, =vectors
	msr	vbar_el1, x1
	isb
	mrs	x0, mpidr_el1
	and	x0, x0, #0xff
	ret

/* main() or a secondary function returned: PSCI CPU_OFF, then park. */
cpu_halt:
	ldr	x0, =0x84000002
	hvc	#0
park:
	wfe
	b	park

/* EL1 vector table. Every entry saves a full frame and calls exc_dispatch(frame). */
	.macro	ventry kind
	.balign	128
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #0]
	mov	x0, #\kind
	b	exc_common
	.endm

	.text
	.balign	2048
	.global	vectors
vectors:
	ventry	0	/* current EL, SP0: sync */
	ventry	1	/* irq */
	ventry	2	/* fiq */
	ventry	3	/* serror */
	ventry	4	/* current EL, SPx: sync */
	ventry	5
	ventry	6
	ventry	7
	ventry	8	/* lower EL, AArch64 */
	ventry	9
	ventry	10
	ventry	11
	ventry	12	/* lower EL, AArch32 */
	ventry	13
	ventry	14
	ventry	15

exc_common:
	/* frame: x[0..30] at 0..247, elr 248, spsr 256, esr 264, far 272, kind 280 */
	str	x0, [sp, #280]
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	mrs	x1, elr_el1
	stp	x30, x1, [sp, #240]
	mrs	x1, spsr_el1
	mrs	x2, esr_el1
	stp	x1, x2, [sp, #256]
	mrs	x1, far_el1
	str	x1, [sp, #272]
	mov	x0, sp
	bl	exc_dispatch
	ldp	x30, x1, [sp, #240]
	msr	elr_el1, x1
	ldr	x1, [sp, #256]
	msr	spsr_el1, x1
	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	add	sp, sp, #FRAME_SIZE
	eret
