/* The physical GICv3 the hypervisor owns: distributor, redistributors, CPU interface. */
#ifndef DRIVERS_GICV3_H
#define DRIVERS_GICV3_H

#include <bulkhead/types.h>

#define GIC_SPURIOUS 1023

/* Distributor setup (boot CPU, once). */
void gic_init(paddr_t gicd, paddr_t gicr, u64 gicr_size);
/* This CPU's redistributor (woken) and CPU interface; hwid is its MPIDR. Returns false if no
 * redistributor matches. */
bool gic_init_cpu(u64 hwid);
/* Enables a private interrupt (SGI/PPI) on this CPU. */
void gic_enable_local(u32 intid);
/* Enables a shared interrupt routed to the CPU with MPIDR hwid. */
void gic_enable_spi(u32 intid, u64 hwid);
u32 gic_ack(void);
void gic_eoi(u32 intid);
/* Sends SGI sgi to the CPU with MPIDR hwid. */
void gic_send_sgi(u64 hwid, u32 sgi);

#endif
