/* vCPU state on AArch64: architectural reset, and the switch of EL1 system registers, FP/SIMD
 * and stage-2 when a physical CPU changes vCPU. An ordinary exit saves only the general
 * registers (vectors.S); everything here happens only on a switch. */
#include <arch/cpu.h>
#include <arch/sysreg.h>
#include <arch/vgic.h>
#include <bulkhead/arch.h>
#include <bulkhead/pcpu.h>
#include <bulkhead/string.h>
#include <bulkhead/vm.h>

extern u8 cpu_stacks[];

void arch_vcpu_reset(struct vcpu *v, gpa_t entry, u64 arg)
{
	struct arch_vcpu *a = &v->arch;

	memset(&a->regs, 0, sizeof(a->regs));
	memset(&a->el1, 0, sizeof(a->el1));
	memset(&a->fp, 0, sizeof(a->fp));
	a->regs.x[0] = arg;
	a->regs.pc = entry;
	a->regs.pstate = PSTATE_EL1H_MASKED;
	a->el1.sctlr = SCTLR_EL1_RESET;
	a->vmpidr = BIT(31) | v->id; /* Aff0 = vCPU index, uniprocessor bit clear */
	vgic_init_vcpu(v);
}

void arch_vcpu_load(struct vcpu *v)
{
	const struct arch_el1 *e = &v->arch.el1;

	write_sysreg(vttbr_el2, v->vm->arch.s2.vttbr);
	write_sysreg(cntvoff_el2, v->vm->arch.s2.cntvoff);
	write_sysreg(vmpidr_el2, v->arch.vmpidr);
	write_sysreg(sctlr_el1, e->sctlr);
	write_sysreg(actlr_el1, e->actlr);
	write_sysreg(cpacr_el1, e->cpacr);
	write_sysreg(ttbr0_el1, e->ttbr0);
	write_sysreg(ttbr1_el1, e->ttbr1);
	write_sysreg(tcr_el1, e->tcr);
	write_sysreg(mair_el1, e->mair);
	write_sysreg(amair_el1, e->amair);
	write_sysreg(vbar_el1, e->vbar);
	write_sysreg(contextidr_el1, e->contextidr);
	write_sysreg(tpidr_el0, e->tpidr_el0);
	write_sysreg(tpidrro_el0, e->tpidrro_el0);
	write_sysreg(tpidr_el1, e->tpidr_el1);
	write_sysreg(sp_el0, e->sp_el0);
	write_sysreg(sp_el1, e->sp_el1);
	write_sysreg(elr_el1, e->elr);
	write_sysreg(spsr_el1, e->spsr);
	write_sysreg(esr_el1, e->esr);
	write_sysreg(far_el1, e->far);
	write_sysreg(afsr0_el1, e->afsr0);
	write_sysreg(afsr1_el1, e->afsr1);
	write_sysreg(par_el1, e->par);
	write_sysreg(csselr_el1, e->csselr);
	write_sysreg(cntkctl_el1, e->cntkctl);
	write_sysreg(mdscr_el1, e->mdscr);
	/* Compare value before control: enabling a timer with a stale compare value could
	 * raise a spurious interrupt. */
	write_sysreg(cntv_cval_el0, e->cntv_cval);
	write_sysreg(cntv_ctl_el0, e->cntv_ctl);
	fpsimd_restore(&v->arch.fp);
	vgic_load(v);
	vptimer_update(v); /* its deadline may have passed while the vCPU was away */
	isb();
}

void arch_vcpu_save(struct vcpu *v)
{
	struct arch_el1 *e = &v->arch.el1;

	e->sctlr = read_sysreg(sctlr_el1);
	e->actlr = read_sysreg(actlr_el1);
	e->cpacr = read_sysreg(cpacr_el1);
	e->ttbr0 = read_sysreg(ttbr0_el1);
	e->ttbr1 = read_sysreg(ttbr1_el1);
	e->tcr = read_sysreg(tcr_el1);
	e->mair = read_sysreg(mair_el1);
	e->amair = read_sysreg(amair_el1);
	e->vbar = read_sysreg(vbar_el1);
	e->contextidr = read_sysreg(contextidr_el1);
	e->tpidr_el0 = read_sysreg(tpidr_el0);
	e->tpidrro_el0 = read_sysreg(tpidrro_el0);
	e->tpidr_el1 = read_sysreg(tpidr_el1);
	e->sp_el0 = read_sysreg(sp_el0);
	e->sp_el1 = read_sysreg(sp_el1);
	e->elr = read_sysreg(elr_el1);
	e->spsr = read_sysreg(spsr_el1);
	e->esr = read_sysreg(esr_el1);
	e->far = read_sysreg(far_el1);
	e->afsr0 = read_sysreg(afsr0_el1);
	e->afsr1 = read_sysreg(afsr1_el1);
	e->par = read_sysreg(par_el1);
	e->csselr = read_sysreg(csselr_el1);
	e->cntkctl = read_sysreg(cntkctl_el1);
	e->mdscr = read_sysreg(mdscr_el1);
	vgic_save(v); /* before the timer stops: a completed timer interrupt is resampled */
	/* Stop the timer first so it cannot fire for a vCPU that is not loaded. */
	e->cntv_ctl = read_sysreg(cntv_ctl_el0);
	write_sysreg(cntv_ctl_el0, 0);
	e->cntv_cval = read_sysreg(cntv_cval_el0);
	fpsimd_save(&v->arch.fp);
}

/* The virtual timer's deadline in physical counter ticks, 0 if it cannot fire. */
static u64 vtimer_deadline(const struct vcpu *v)
{
	u64 ctl = v->running ? read_sysreg(cntv_ctl_el0) : v->arch.el1.cntv_ctl;
	u64 cval = v->running ? read_sysreg(cntv_cval_el0) : v->arch.el1.cntv_cval;

	if ((ctl & 3) != 1) /* enabled and not masked */
		return 0;
	return cval + v->vm->arch.s2.cntvoff; /* virtual to physical counter */
}

u64 arch_vcpu_timer_deadline(const struct vcpu *v)
{
	u64 a = vtimer_deadline(v), b = vptimer_deadline(v);

	return !a ? b : !b ? a : MIN(a, b);
}

u64 arch_vcpu_emulated_deadline(const struct vcpu *v)
{
	return vptimer_deadline(v);
}

void arch_vcpu_timer_tick(struct vcpu *v)
{
	vptimer_update(v);
}

bool arch_vcpu_irq_pending(struct vcpu *v)
{
	return vgic_has_pending(v);
}

_Noreturn void arch_enter_current(void)
{
	u32 id = this_pcpu()->id;

	vgic_sync(this_pcpu()->current);
	enter_guest_on((uintptr_t)(cpu_stacks + (u64)(id + 1) * STACK_SIZE));
}
