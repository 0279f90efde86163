/* The machine Bulkhead runs on, as read from the device tree the loader passed in x0. */
#ifndef BULKHEAD_PLATFORM_H
#define BULKHEAD_PLATFORM_H

#include <bulkhead/fdt.h>
#include <bulkhead/pcpu.h>
#include <bulkhead/types.h>

#define PLAT_MAX_MEM 4
#define PLAT_MAX_RSV 8

struct mem_range {
	paddr_t base;
	u64 size;
};

struct platform {
	struct fdt fdt;
	u32 nr_cpus;
	u64 cpu_hwid[MAX_CPUS];   /* MPIDR affinity of each CPU, CPU 0 = the boot CPU */
	u32 nr_mem;
	struct mem_range mem[PLAT_MAX_MEM];
	u32 nr_rsv;
	struct mem_range rsv[PLAT_MAX_RSV]; /* /memreserve/ and the DTB itself */
	struct mem_range uart;
	u32 uart_irq;             /* interrupt id, 0 if unknown (then input is polled) */
	struct mem_range gicd, gicr;
	u32 hyp_timer_irq;        /* interrupt id of the EL2 physical timer */
	bool psci_hvc;            /* PSCI conduit of the firmware: HVC, else SMC */
	paddr_t initrd_start, initrd_end;
};

extern struct platform plat;

/* Reads the device tree. Returns NULL on success or a message naming what is missing. */
const char *platform_probe(const void *dtb, u64 boot_hwid);

#endif
