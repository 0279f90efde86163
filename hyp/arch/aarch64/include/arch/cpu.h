/* AArch64-internal functions shared between the port's files (not part of the core's
 * interface in bulkhead/arch.h). */
#ifndef ARCH_CPU_H
#define ARCH_CPU_H

#include <bulkhead/types.h>

struct vcpu;

#define SGI_KICK 0 /* reconsider what runs on this CPU */
#define SGI_HALT 1 /* stop: another CPU panicked */

void arch_mmu_init(void);
void mmu_enable_secondary(void);
void fpsimd_save(void *fp);
void fpsimd_restore(const void *fp);
_Noreturn void enter_guest_on(uintptr_t stack_top);

/* Trap handlers (one concern per file). */
void handle_sysreg(struct vcpu *v, u64 esr);
void handle_dabt(struct vcpu *v, u64 esr);
void handle_iabt(struct vcpu *v, u64 esr);
void handle_smccc(struct vcpu *v);
bool psci_handle(struct vcpu *v, u32 fid);

/* The emulated EL1 physical timer (vptimer.c). */
bool vptimer_access(struct vcpu *v, u32 op2, bool read, u64 *val);
void vptimer_update(struct vcpu *v);
u64 vptimer_deadline(const struct vcpu *v);

/* Exceptions injected into the guest's EL1 (inject.c). The vCPU must be loaded. */
void inject_dabt(struct vcpu *v, u64 far, bool write);
void inject_iabt(struct vcpu *v, u64 far);
void inject_undef(struct vcpu *v);

/* General register access by number; register 31 reads as zero and ignores writes. */
static inline u64 vcpu_get_reg(const u64 *x, u32 r)
{
	return r < 31 ? x[r] : 0;
}

#endif
