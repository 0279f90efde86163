/* The physical GICv3 the hypervisor owns: distributor, redistributors, CPU interface. */
#ifndef DRIVERS_GICV3_H
#define DRIVERS_GICV3_H

#include <bulkhead/types.h>

#define GIC_SPURIOUS 1023
#define GIC_MAX_CPUS 8

/* Distributor setup (boot CPU, once). */
void gic_init(paddr_t gicd, paddr_t gicr, u64 gicr_size);
/* This CPU's redistributor (woken) and CPU interface; cpu is its index, hwid its MPIDR.
 * Returns false if no redistributor matches. */
bool gic_init_cpu(u32 cpu, u64 hwid);
/* Enables or disables a private interrupt (SGI/PPI) of CPU index cpu. */
void gic_set_local(u32 cpu, u32 intid, bool enable);
/* Enables a shared interrupt routed to the CPU with MPIDR hwid. */
void gic_enable_spi(u32 intid, u64 hwid);
u32 gic_ack(void);
void gic_eoi(u32 intid);
/* Sends SGI sgi to the CPU with MPIDR hwid. */
void gic_send_sgi(u64 hwid, u32 sgi);

#endif
