/* The EL1 physical timer, emulated: guests' CNTP_CTL/CVAL/TVAL accesses trap (CNTHCTL_EL2
 * EL1PCEN = 0) so no guest can program the real one, which is not switched between vCPUs.
 * The deadline rides on the hypervisor's EL2 timer; the interrupt is PPI 30, level-sensitive.
 * CNTPCT_EL0 itself is readable without a trap. */
#include <arch/cpu.h>
#include <arch/sysreg.h>
#include <arch/vgic.h>
#include <bulkhead/arch.h>
#include <bulkhead/sched.h>
#include <bulkhead/vm.h>

#define CTL_ENABLE 1u
#define CTL_IMASK 2u
#define CTL_ISTATUS 4u
#define VIRQ_PTIMER 30

static bool fired(const struct arch_el1 *e, u64 now)
{
	return (e->cntp_ctl & CTL_ENABLE) && now >= e->cntp_cval;
}

void vptimer_update(struct vcpu *v)
{
	const struct arch_el1 *e = &v->arch.el1;
	bool level = fired(e, arch_counter()) && !(e->cntp_ctl & CTL_IMASK);

	if (level != v->arch.ptimer_level) {
		v->arch.ptimer_level = level;
		vgic_set_level(v->vm, v, VIRQ_PTIMER, level);
	}
}

u64 vptimer_deadline(const struct vcpu *v)
{
	const struct arch_el1 *e = &v->arch.el1;

	if ((e->cntp_ctl & (CTL_ENABLE | CTL_IMASK)) != CTL_ENABLE || v->arch.ptimer_level)
		return 0;
	return e->cntp_cval ? e->cntp_cval : 1;
}

bool vptimer_access(struct vcpu *v, u32 op2, bool read, u64 *val)
{
	struct arch_el1 *e = &v->arch.el1;
	u64 now = arch_counter();

	switch (op2) {
	case 0: /* CNTP_TVAL_EL0: signed 32-bit distance to the compare value */
		if (read)
			*val = (u32)(e->cntp_cval - now);
		else
			e->cntp_cval = now + (u64)(s64)(s32)*val;
		break;
	case 1: /* CNTP_CTL_EL0 */
		if (read)
			*val = (e->cntp_ctl & 3) | (fired(e, now) ? CTL_ISTATUS : 0);
		else
			e->cntp_ctl = *val & 3;
		break;
	case 2: /* CNTP_CVAL_EL0 */
		if (read)
			*val = e->cntp_cval;
		else
			e->cntp_cval = *val;
		break;
	default:
		return false;
	}
	if (!read) {
		vptimer_update(v);
		sched_rearm_timer();
	}
	return true;
}
