/* The AArch64 part of a vCPU: registers saved on every exit, EL1 system registers and FP/SIMD
 * state saved only when the physical CPU switches to another vCPU. */
#ifndef ARCH_VCPU_H
#define ARCH_VCPU_H

#include <arch/vgic.h>
#include <bulkhead/types.h>

/* Saved by the exception vector on every exit; restored on every entry. */
struct arch_regs {
	u64 x[31];
	u64 pc;     /* ELR_EL2 */
	u64 pstate; /* SPSR_EL2 */
};

/* EL1 and EL0 system register state: loaded while the vCPU owns the physical CPU. */
struct arch_el1 {
	u64 sctlr, actlr, cpacr, ttbr0, ttbr1, tcr, mair, amair, vbar, contextidr;
	u64 tpidr_el0, tpidrro_el0, tpidr_el1, sp_el0, sp_el1, elr, spsr;
	u64 esr, far, afsr0, afsr1, par, csselr, cntkctl, cntv_ctl, cntv_cval, mdscr;
	u64 cntp_ctl, cntp_cval; /* the emulated EL1 physical timer (vptimer.c) */
};

struct arch_fp {
	u64 q[64]; /* V0..V31, 128 bits each */
	u64 fpsr, fpcr;
};

struct arch_vcpu {
	struct arch_regs regs; /* must stay first: the vectors address it directly */
	struct arch_el1 el1;
	struct arch_fp fp;
	u64 vmpidr; /* MPIDR the guest reads */
	struct vgic_cpu vgic;
	bool ptimer_level; /* the emulated physical timer's interrupt line */
};

#endif
