/* Entry at EL2: the arm64 Image header QEMU's loader honours, the primary CPU's entry (x0 =
 * device tree) and the secondary CPUs' entry from PSCI CPU_ON (x0 = CPU index). */
#include <asm-offsets.h>

	.section .text.head, "ax"
	.global _start
_start:
	b	primary_entry
	.long	0
	.quad	0x200000		// text_offset: RAM base + 2 MiB
	.quad	__image_size		// image_size, including .bss
	.quad	0x2			// flags: little-endian, 4 KiB pages
	.quad	0, 0, 0
	.ascii	"ARM\x64"
	.long	0

primary_entry:
	msr	daifset, #0xf
	mov	x20, x0
	mrs	x1, CurrentEL
	cmp	x1, #(2 << 2)
	b.ne	wrong_el
	adr	x1, _start
	ldr	x2, =_start
	cmp	x1, x2
	b.ne	wrong_place
	ldr	x1, =el2_vectors
	msr	vbar_el2, x1
	isb
	ldr	x1, =__bss_start
	ldr	x2, =__bss_end
1:	cmp	x1, x2
	b.hs	2f
	stp	xzr, xzr, [x1], #16
	b	1b
2:	ldr	x1, =cpu_stacks
	add	x1, x1, #STACK_SIZE_ASM
	mov	sp, x1
	ldr	x1, =pcpus
	msr	tpidr_el2, x1
	mov	x0, x20
	bl	boot_primary
	b	park

	.global secondary_entry
secondary_entry:
	msr	daifset, #0xf
	mov	x19, x0
	ldr	x1, =el2_vectors
	msr	vbar_el2, x1
	add	x1, x19, #1
	mov	x2, #STACK_SIZE_ASM
	mul	x1, x1, x2
	ldr	x2, =cpu_stacks
	add	x1, x1, x2
	mov	sp, x1
	ldr	x1, =pcpus
	mov	x2, #PCPU_SIZE
	madd	x1, x19, x2, x1
	msr	tpidr_el2, x1
	bl	mmu_enable_secondary
	mov	x0, x19
	bl	secondary_main
	b	park

/* Not at EL2, or not loaded where linked: nothing can be printed safely; stop. */
wrong_el:
wrong_place:
park:
	wfi
	b	park
