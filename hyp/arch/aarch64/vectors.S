/* EL2 exception vectors, the guest exit path (save the vCPU's registers, call the C trap
 * entry) and the guest entry path (restore the current vCPU's registers, eret). The
 * hypervisor keeps interrupts masked, so exceptions from EL2 itself are always fatal. */
#include <asm-offsets.h>

#define EXIT_SYNC 0
#define EXIT_IRQ 1
#define EXIT_FIQ 2
#define EXIT_SERROR 3

.macro ventry target
	.balign 128
	b	\target
.endm

/* Saves x0..x30, ELR_EL2 and SPSR_EL2 into the current vCPU and calls the C exit handler. */
.macro guest_exit kind
	stp	x0, x1, [sp, #-16]!
	mrs	x0, tpidr_el2
	ldr	x0, [x0, #PCPU_CUR_REGS]
	stp	x2, x3, [x0, #16]
	stp	x4, x5, [x0, #32]
	stp	x6, x7, [x0, #48]
	stp	x8, x9, [x0, #64]
	stp	x10, x11, [x0, #80]
	stp	x12, x13, [x0, #96]
	stp	x14, x15, [x0, #112]
	stp	x16, x17, [x0, #128]
	stp	x18, x19, [x0, #144]
	stp	x20, x21, [x0, #160]
	stp	x22, x23, [x0, #176]
	stp	x24, x25, [x0, #192]
	stp	x26, x27, [x0, #208]
	stp	x28, x29, [x0, #224]
	mrs	x2, elr_el2
	stp	x30, x2, [x0, #REGS_X30]
	mrs	x3, spsr_el2
	str	x3, [x0, #REGS_PSTATE]
	ldp	x2, x3, [sp], #16
	stp	x2, x3, [x0, #REGS_X0]
	mov	x1, #\kind
	bl	arch_guest_exit
	b	guest_resume
.endm

/* An exception taken from EL2: build a register frame on the stack and panic. */
.macro hyp_fault kind
	sub	sp, sp, #(34 * 8)
	stp	x0, x1, [sp, #0]
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
	mrs	x1, elr_el2
	stp	x30, x1, [sp, #240]
	mrs	x1, spsr_el2
	add	x2, sp, #(34 * 8)
	stp	x1, x2, [sp, #256]
	mov	x0, sp
	mov	x1, #\kind
	bl	hyp_exception
	b	.
.endm

	.section .text.vectors, "ax"
	.balign 2048
	.global el2_vectors
el2_vectors:
	ventry	hyp_sync	// current EL, SP_EL0
	ventry	hyp_irq
	ventry	hyp_fiq
	ventry	hyp_serror
	ventry	hyp_sync	// current EL, SP_ELx
	ventry	hyp_irq
	ventry	hyp_fiq
	ventry	hyp_serror
	ventry	guest_sync	// lower EL, AArch64
	ventry	guest_irq
	ventry	guest_fiq
	ventry	guest_serror
	ventry	guest_sync	// lower EL, AArch32 (EL1 is AArch64 only: HCR_EL2.RW)
	ventry	guest_irq
	ventry	guest_fiq
	ventry	guest_serror

	.text
guest_sync:	guest_exit EXIT_SYNC
guest_irq:	guest_exit EXIT_IRQ
guest_fiq:	guest_exit EXIT_FIQ
guest_serror:	guest_exit EXIT_SERROR
hyp_sync:	hyp_fault EXIT_SYNC
hyp_irq:	hyp_fault EXIT_IRQ
hyp_fiq:	hyp_fault EXIT_FIQ
hyp_serror:	hyp_fault EXIT_SERROR

/* Restores the current vCPU of this CPU and returns to it. */
	.global guest_resume
guest_resume:
	mrs	x0, tpidr_el2
	ldr	x0, [x0, #PCPU_CUR_REGS]
	ldp	x1, x2, [x0, #REGS_PC]
	msr	elr_el2, x1
	msr	spsr_el2, x2
	ldp	x2, x3, [x0, #16]
	ldp	x4, x5, [x0, #32]
	ldp	x6, x7, [x0, #48]
	ldp	x8, x9, [x0, #64]
	ldp	x10, x11, [x0, #80]
	ldp	x12, x13, [x0, #96]
	ldp	x14, x15, [x0, #112]
	ldp	x16, x17, [x0, #128]
	ldp	x18, x19, [x0, #144]
	ldp	x20, x21, [x0, #160]
	ldp	x22, x23, [x0, #176]
	ldp	x24, x25, [x0, #192]
	ldp	x26, x27, [x0, #208]
	ldp	x28, x29, [x0, #224]
	ldr	x30, [x0, #REGS_X30]
	ldp	x0, x1, [x0, #REGS_X0]
	eret
	dsb	nsh
	isb

/* enter_guest_on(stack_top): resets this CPU's stack and enters its current vCPU. */
	.global enter_guest_on
enter_guest_on:
	mov	sp, x0
	b	guest_resume
