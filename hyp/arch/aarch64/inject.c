/* Exceptions the hypervisor injects into a guest's EL1, as the hardware would take them:
 * ELR_EL1/SPSR_EL1/ESR_EL1/FAR_EL1 written, PC to the right VBAR_EL1 vector, EL1h, masked. */
#include <arch/cpu.h>
#include <arch/sysreg.h>
#include <bulkhead/vm.h>

#define VEC_CUR_SP0 0x000
#define VEC_CUR_SPX 0x200
#define VEC_LOWER64 0x400

static void inject(struct vcpu *v, u64 esr, u64 far)
{
	struct arch_regs *r = &v->arch.regs;
	u64 mode = r->pstate & PSTATE_MODE_MASK;
	u64 off = mode == PSTATE_EL0T ? VEC_LOWER64 : (mode & 1) ? VEC_CUR_SPX : VEC_CUR_SP0;

	write_sysreg(elr_el1, r->pc);
	write_sysreg(spsr_el1, r->pstate);
	write_sysreg(esr_el1, esr);
	write_sysreg(far_el1, far);
	r->pc = read_sysreg(vbar_el1) + off;
	r->pstate = PSTATE_EL1H_MASKED;
}

static bool from_el0(const struct vcpu *v)
{
	return (v->arch.regs.pstate & PSTATE_MODE_MASK) == PSTATE_EL0T;
}

#define FSC_SYNC_EXTERNAL 0x10

void inject_dabt(struct vcpu *v, u64 far, bool write)
{
	u64 ec = from_el0(v) ? EC_DABT_LOW : EC_DABT_CUR;

	inject(v, (ec << ESR_EC_SHIFT) | ESR_IL | (write ? BIT(6) : 0) | FSC_SYNC_EXTERNAL, far);
}

void inject_iabt(struct vcpu *v, u64 far)
{
	u64 ec = from_el0(v) ? EC_IABT_LOW : EC_IABT_CUR;

	inject(v, (ec << ESR_EC_SHIFT) | ESR_IL | FSC_SYNC_EXTERNAL, far);
}

void inject_undef(struct vcpu *v)
{
	inject(v, ((u64)EC_UNKNOWN << ESR_EC_SHIFT) | ESR_IL, 0);
}
