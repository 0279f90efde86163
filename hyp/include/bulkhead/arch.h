/* The interface every architecture port implements, and all the core may call. Nothing in
 * core/ names a system register or an instruction; it calls these. */
#ifndef BULKHEAD_ARCH_H
#define BULKHEAD_ARCH_H

#include <bulkhead/types.h>

struct vcpu;
struct vm;
struct pcpu;
struct platform;

/* --- CPUs --- */
/* Hardware id (MPIDR on Arm) of the calling CPU. */
u64 arch_cpu_hwid(void);
/* Interrupt controller setup (boot CPU, once), with console input routed to the boot CPU. */
void arch_irq_init(const struct platform *plat);
/* Per-CPU setup of the hypervisor's own execution state (traps, vectors, interrupts). */
void arch_cpu_init(struct pcpu *p);
/* Starts a secondary physical CPU; it enters secondary_main(). */
int arch_cpu_start(const struct platform *plat, struct pcpu *p);
/* Waits for an interrupt with interrupts masked (they are taken by polling afterwards). */
void arch_wait_for_interrupt(void);
/* Stops this CPU for good (panic, or after SYSTEM_OFF of the whole machine). */
_Noreturn void arch_halt(void);
/* Asks every other CPU to halt (panic). */
void arch_halt_others(void);

/* Builds the hypervisor's own page tables and turns its MMU on (boot CPU, once). */
void arch_mmu_init(void);

/* --- time --- */
u64 arch_counter(void);
u64 arch_counter_hz(void);
/* Programs this CPU's hypervisor timer to fire at deadline (counter value); 0 disables it. */
void arch_timer_program(u64 deadline);

/* --- interrupts of the hypervisor --- */
/* Sends the reschedule kick to a physical CPU. */
void arch_kick(u32 cpu);
/* Handles all pending physical interrupts on this CPU; returns how many. */
u32 arch_irq_poll(void);

/* --- vCPUs --- */
/* Architectural reset: the vCPU starts at entry with arg in its first argument register,
 * MMU and caches off, all interrupts masked. Its state must not be loaded. */
void arch_vcpu_reset(struct vcpu *v, gpa_t entry, u64 arg);
/* Loads a vCPU's state into this CPU (stage-2, system registers, FP) / saves it back. */
void arch_vcpu_load(struct vcpu *v);
void arch_vcpu_save(struct vcpu *v);
/* Enters the current vCPU of this CPU; never returns (exits come back through the vectors). */
_Noreturn void arch_enter_current(void);
/* True if the vCPU has an interrupt to take (a WFI must not wait). v is loaded. */
bool arch_vcpu_irq_pending(struct vcpu *v);
/* Sets the level of a VM's interrupt line intid (emulated devices). */
void arch_vm_irq_line(struct vm *vm, u32 intid, bool level);
/* Makes a VM's interrupt intid pending on the vCPU its routing names (an edge; doorbells). */
void arch_vm_irq_raise(struct vm *vm, u32 intid);
/* Earliest deadline (physical counter) of the vCPU's timers if one is armed, else 0: when a
 * vCPU waiting in WFI must wake. */
u64 arch_vcpu_timer_deadline(const struct vcpu *v);
/* Deadline of the timers the hypervisor emulates for the loaded vCPU (the EL2 timer must fire
 * then), else 0; and the hook called when the EL2 timer fired with v loaded. */
u64 arch_vcpu_emulated_deadline(const struct vcpu *v);
void arch_vcpu_timer_tick(struct vcpu *v);

/* --- VMs and stage-2 --- */
/* Writes the VM's generated device tree into buf (guest-physical dtb_addr); returns its size,
 * or 0 if it does not fit. */
u32 arch_vm_build_dtb(const struct vm *vm, void *buf, u32 size);
int arch_vm_init(struct vm *vm);
/* Returns the VM's interrupt controller to its reset state (all vCPUs stopped). */
void arch_vm_reset(struct vm *vm);
/* Passed-through devices: maps physical device pages at the same guest-physical address
 * (Device memory); routes the VM's passed-through SPIs to the physical CPU of its vCPU 0
 * (each stays disabled until the guest enables it); and, when the VM stops or resets,
 * disables them and clears their pending and active state. */
int arch_stage2_map_device(struct vm *vm, gpa_t ipa, paddr_t pa, u64 size);
void arch_vm_passthrough_claim(struct vm *vm);
void arch_vm_passthrough_stop(struct vm *vm);
/* Number of interrupt lines (INTIDs 0..n-1) of the interrupt controller. */
u32 arch_irq_nr_lines(void);
/* Frees the VM's stage-2 tables. */
void arch_vm_destroy(struct vm *vm);
/* Maps guest-physical [ipa, ipa+size) to physical pa as normal RAM. */
int arch_stage2_map_ram(struct vm *vm, gpa_t ipa, paddr_t pa, u64 size);
/* Zeroes size bytes at p (both page aligned) as fast as the CPU can. */
void arch_zero_pages(void *p, u64 size);
/* The hypervisor's pointer to a physical address (RAM is mapped at EL2). */
void *arch_phys_to_virt(paddr_t pa);

#endif
