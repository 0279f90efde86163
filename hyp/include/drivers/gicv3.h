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
/* Completes an interrupt the hypervisor handled: priority drop, then deactivation. */
void gic_eoi(u32 intid);
/* Only the priority drop: the interrupt stays active (a passed-through SPI, deactivated when
 * the guest completes it through a hardware list register). */
void gic_drop(u32 intid);
/* Interrupt lines (INTIDs 0..n-1) the distributor implements. */
u32 gic_nr_lines(void);
/* A passed-through SPI: level-sensitive, routed to the CPU with MPIDR hwid, disabled, neither
 * pending nor active. */
void gic_spi_setup(u32 intid, u64 hwid);
void gic_spi_enable(u32 intid, bool enable);
/* Disabled, pending and active state cleared (its VM stopped or reset). */
void gic_spi_quiesce(u32 intid);
/* Clears the active state (the guest deactivated the virtual interrupt by a register). */
void gic_spi_deactivate(u32 intid);
/* Sends SGI sgi to the CPU with MPIDR hwid. */
void gic_send_sgi(u64 hwid, u32 sgi);

#endif
