/* PSCI 1.1 for guests: CPU_ON/OFF/SUSPEND, AFFINITY_INFO, SYSTEM_OFF/RESET, VERSION,
 * FEATURES, MIGRATE_INFO_TYPE. vCPUs are named by their virtual MPIDR (Aff0 = vCPU index). */
#include <arch/cpu.h>
#include <bulkhead/arch.h>
#include <bulkhead/errno.h>
#include <bulkhead/vm.h>

#define PSCI_VERSION 0x84000000u
#define PSCI_CPU_SUSPEND 0x84000001u
#define PSCI_CPU_OFF 0x84000002u
#define PSCI_CPU_ON 0x84000003u
#define PSCI_AFFINITY_INFO 0x84000004u
#define PSCI_MIGRATE_INFO_TYPE 0x84000006u
#define PSCI_SYSTEM_OFF 0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u
#define PSCI_FEATURES 0x8400000Au
#define PSCI_64BIT 0x40000000u

#define PSCI_SUCCESS 0
#define PSCI_NOT_SUPPORTED -1
#define PSCI_INVALID_PARAMETERS -2
#define PSCI_DENIED -3
#define PSCI_ALREADY_ON -4
#define PSCI_ON_PENDING -5
#define PSCI_INVALID_ADDRESS -9

#define AFF_MASK 0xFF00FFFFFFULL

/* The vCPU whose virtual MPIDR matches mpidr, or NULL. */
static struct vcpu *find_vcpu(struct vm *vm, u64 mpidr)
{
	if ((mpidr & AFF_MASK) != (mpidr & ~0xC0000000ULL) || (mpidr & 0xFFFFFFFF00ULL))
		return NULL; /* stray bits, or affinity levels above 0 (we use Aff0 only) */
	return vm_vcpu(vm, (u32)(mpidr & 0xFF));
}

static s64 cpu_on(struct vcpu *v, u64 mpidr, u64 entry, u64 ctx)
{
	struct vcpu *t = find_vcpu(v->vm, mpidr);

	if (!t)
		return PSCI_INVALID_PARAMETERS;
	int r = vcpu_power_on(t, entry, ctx);
	if (r == E_INVAL)
		return PSCI_INVALID_ADDRESS;
	if (r == E_BUSY)
		return t->on_pending ? PSCI_ON_PENDING : PSCI_ALREADY_ON;
	return PSCI_SUCCESS;
}

static s64 affinity_info(struct vcpu *v, u64 mpidr, u64 level)
{
	struct vcpu *t = find_vcpu(v->vm, mpidr);

	if (!t || level != 0)
		return PSCI_INVALID_PARAMETERS;
	if (t->on_pending)
		return 2; /* ON_PENDING */
	return __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == VCPU_OFF ? 1 : 0;
}

static bool implemented(u32 fid)
{
	if (fid == 0x80000000u) /* SMCCC_VERSION: tells the guest SMCCC 1.1 is there */
		return true;
	switch (fid) {
	case PSCI_VERSION: case PSCI_CPU_SUSPEND: case PSCI_CPU_OFF: case PSCI_CPU_ON:
	case PSCI_AFFINITY_INFO: case PSCI_MIGRATE_INFO_TYPE: case PSCI_SYSTEM_OFF:
	case PSCI_SYSTEM_RESET: case PSCI_FEATURES: case PSCI_CPU_SUSPEND | PSCI_64BIT:
	case PSCI_CPU_ON | PSCI_64BIT: case PSCI_AFFINITY_INFO | PSCI_64BIT:
		return true;
	}
	return false;
}

/* Argument n of a call: 32-bit calls use only the low half of each register. */
static u64 arg(const struct vcpu *v, u32 fid, u32 n)
{
	u64 a = v->arch.regs.x[n];

	return (fid & PSCI_64BIT) ? a : (u32)a;
}

bool psci_handle(struct vcpu *v, u32 fid)
{
	s64 ret;

	switch (fid) {
	case PSCI_VERSION:
		ret = 0x10001; /* 1.1 */
		break;
	case PSCI_CPU_SUSPEND:
	case PSCI_CPU_SUSPEND | PSCI_64BIT:
		/* Every power state is treated as standby: a WFI that returns success. */
		vcpu_wait(v, arch_vcpu_timer_deadline(v));
		ret = PSCI_SUCCESS;
		break;
	case PSCI_CPU_OFF:
		vcpu_power_off(v);
		return true;
	case PSCI_CPU_ON:
	case PSCI_CPU_ON | PSCI_64BIT:
		ret = cpu_on(v, arg(v, fid, 1), arg(v, fid, 2), arg(v, fid, 3));
		break;
	case PSCI_AFFINITY_INFO:
	case PSCI_AFFINITY_INFO | PSCI_64BIT:
		ret = affinity_info(v, arg(v, fid, 1), arg(v, fid, 2));
		break;
	case PSCI_MIGRATE_INFO_TYPE:
		ret = 2; /* no trusted OS needing migration */
		break;
	case PSCI_SYSTEM_OFF:
		vm_power_off(v);
		return true;
	case PSCI_SYSTEM_RESET:
		vm_reset(v);
		return true;
	case PSCI_FEATURES:
		ret = implemented((u32)arg(v, fid, 1)) ? PSCI_SUCCESS : PSCI_NOT_SUPPORTED;
		break;
	default:
		return false;
	}
	v->arch.regs.x[0] = (u64)ret;
	return true;
}
