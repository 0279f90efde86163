/* SMC Calling Convention dispatch for HVC and SMC from guests: PSCI (standard secure service
 * range), the SMCCC's own version query, and NOT_SUPPORTED for everything else. */
#include <arch/cpu.h>
#include <bulkhead/vm.h>

#define SMCCC_VERSION 0x80000000u
#define SMCCC_ARCH_FEATURES 0x80000001u
#define SMCCC_NOT_SUPPORTED ((u64)-1)
#define SMCCC_OWNER(fid) (((fid) >> 24) & 0x3F)
#define OWNER_STANDARD 4

void handle_smccc(struct vcpu *v)
{
	u64 *x = v->arch.regs.x;
	u32 fid = (u32)x[0];

	if (x[0] >> 32) { /* the upper half of a function id must be zero */
		x[0] = SMCCC_NOT_SUPPORTED;
		return;
	}
	if (SMCCC_OWNER(fid) == OWNER_STANDARD && psci_handle(v, fid))
		return;
	if (fid == SMCCC_VERSION)
		x[0] = 0x10001; /* SMCCC 1.1 */
	else
		x[0] = SMCCC_NOT_SUPPORTED; /* including SMCCC_ARCH_FEATURES: no workarounds */
}
