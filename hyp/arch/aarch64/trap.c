/* The C entry of every guest exit: counts it, sends it to the handler of its exception class
 * (a table indexed by ESR_EL2.EC), then lets the scheduler decide what runs next. */
#include <arch/cpu.h>
#include <arch/sysreg.h>
#include <arch/vgic.h>
#include <bulkhead/arch.h>
#include <bulkhead/log.h>
#include <bulkhead/pcpu.h>
#include <bulkhead/sched.h>
#include <bulkhead/string.h>
#include <bulkhead/vm.h>

enum { EXIT_SYNC, EXIT_IRQ_VEC, EXIT_FIQ_VEC, EXIT_SERROR_VEC };

typedef void (*ec_handler)(struct vcpu *v, u64 esr);

static void handle_wfx(struct vcpu *v, u64 esr)
{
	v->arch.regs.pc += 4;
	if (esr & 1) { /* WFE: yield to another vCPU of this CPU, if any */
		this_pcpu()->need_resched = 1;
		return;
	}
	vcpu_wait(v, arch_vcpu_timer_deadline(v));
}

static void handle_hvc(struct vcpu *v, u64 esr)
{
	(void)esr;
	handle_smccc(v); /* ELR already points after the HVC */
}

static void handle_smc(struct vcpu *v, u64 esr)
{
	(void)esr;
	v->arch.regs.pc += 4; /* a trapped SMC returns to the SMC itself */
	handle_smccc(v);
}

static void handle_sysreg_ec(struct vcpu *v, u64 esr)
{
	handle_sysreg(v, esr);
}

/* Features a guest may probe but we hide (SVE, SME, pointer authentication): the
 * instruction is undefined for the guest, as on a CPU without the feature. */
static void handle_undef(struct vcpu *v, u64 esr)
{
	(void)esr;
	inject_undef(v);
}

static void handle_dabt_ec(struct vcpu *v, u64 esr)
{
	handle_dabt(v, esr);
}

static void handle_iabt_ec(struct vcpu *v, u64 esr)
{
	handle_iabt(v, esr);
}

static const ec_handler ec_table[64] = {
	[EC_WFX] = handle_wfx,         [EC_PAC] = handle_undef,
	[EC_HVC64] = handle_hvc,       [EC_SMC64] = handle_smc,
	[EC_SYSREG] = handle_sysreg_ec, [EC_SVE] = handle_undef,
	[EC_SME] = handle_undef,       [EC_IABT_LOW] = handle_iabt_ec,
	[EC_DABT_LOW] = handle_dabt_ec,
};

static const u8 ec_exit_kind[64] = {
	[EC_WFX] = EXIT_WFX,       [EC_HVC64] = EXIT_HYPERCALL, [EC_SMC64] = EXIT_HYPERCALL,
	[EC_SYSREG] = EXIT_SYSREG, [EC_DABT_LOW] = EXIT_MMIO,    [EC_IABT_LOW] = EXIT_FAULT,
	[EC_PAC] = EXIT_FAULT,     [EC_SVE] = EXIT_FAULT,        [EC_SME] = EXIT_FAULT,
};

/* Names for the exception classes a guest can cause, for the console. */
static const char *ec_name(u64 ec)
{
	switch (ec) {
	case 0x00: return "unknown reason";
	case 0x07: return "FP/SIMD access";
	case 0x0E: return "illegal execution state";
	case 0x11: return "SVC (AArch32)";
	case 0x15: return "SVC";
	case 0x22: return "PC alignment";
	case 0x26: return "SP alignment";
	case 0x2C: return "FP exception";
	case 0x2F: return "SError";
	case 0x30: case 0x31: return "breakpoint";
	case 0x32: case 0x33: return "software step";
	case 0x34: case 0x35: return "watchpoint";
	case 0x3C: return "BRK";
	}
	return "unexpected exception class";
}

static void unhandled(struct vcpu *v, u64 esr)
{
	char why[128];

	snprintf(why, sizeof(why), "unhandled trap EC 0x%02lx (%s) ESR 0x%08lx at pc 0x%lx",
		 ESR_EC(esr), ec_name(ESR_EC(esr)), esr, v->arch.regs.pc);
	vm_stop(v, why);
}

void arch_guest_exit(struct arch_regs *regs, u64 kind);
void arch_guest_exit(struct arch_regs *regs, u64 kind)
{
	struct vcpu *v = container_of(regs, struct vcpu, arch.regs);

	if (kind == EXIT_SYNC) {
		u64 esr = read_sysreg(esr_el2);
		ec_handler h = ec_table[ESR_EC(esr)];

		v->exits[h ? ec_exit_kind[ESR_EC(esr)] : EXIT_OTHER]++;
		if (h)
			h(v, esr);
		else
			unhandled(v, esr);
	} else if (kind == EXIT_IRQ_VEC || kind == EXIT_FIQ_VEC) {
		v->exits[EXIT_IRQ]++;
		arch_irq_poll();
	} else {
		v->exits[EXIT_OTHER]++;
		vm_stop(v, "SError (asynchronous abort) from the guest");
	}
	sched_exit_done();
	v = this_pcpu()->current;
	if (__atomic_load_n(&v->arch.vgic.dirty, __ATOMIC_ACQUIRE))
		vgic_sync(v);
}
