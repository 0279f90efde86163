/* The device tree a VM boots with (when its configuration gives none): the machine QEMU's
 * `virt` board with a GICv3 would describe, reduced to what the VM really has (RAM, vCPUs
 * started by PSCI over HVC, the GICv3, the architected timer, one PL011, the PL061 with its
 * gpio-keys power button), so a stock arm64 Linux kernel boots on it. Pure code: unit-tested
 * on the host. */
#ifndef ARCH_GUEST_DTB_H
#define ARCH_GUEST_DTB_H

#include <bulkhead/types.h>

#define GUEST_DTB_GICD_SIZE 0x10000ULL       /* distributor: 64 KiB */
#define GUEST_DTB_GICR_STRIDE 0x20000ULL     /* redistributor per vCPU: RD + SGI frames */
#define GUEST_DTB_UART_SIZE 0x1000ULL
#define GUEST_DTB_MAX_VCPUS 8
#define GUEST_DTB_MAX_SIZE 0x200000U         /* arm64 booting.rst: a DTB is at most 2 MiB */
#define GUEST_DTB_VIRTIO_SIZE 0x200ULL       /* one virtio-mmio transport */
#define GUEST_DTB_MAX_VIRTIO 8
#define GUEST_DTB_MAX_IVC 4              /* shared-memory channels */
#define GUEST_DTB_IVC_DOORBELL 0x1000ULL /* a channel's doorbell page */
#define GUEST_DTB_GPIO_SIZE 0x1000ULL    /* the PL061 */
#define GUEST_DTB_KEY_POWER 116          /* Linux's KEY_POWER (input-event-codes.h) */
#define GUEST_DTB_MAX_PT 4               /* passed-through devices */
#define GUEST_DTB_PT_REGS 4              /* register ranges of one */
#define GUEST_DTB_PT_IRQS 4              /* interrupts of one */

/* Interrupt numbers (PPIs as the GIC binding counts them: INTID - 16). */
#define GUEST_DTB_PPI_MAINT 9   /* GIC maintenance, INTID 25 */
#define GUEST_DTB_PPI_HYP 10    /* EL2 physical timer, INTID 26 */
#define GUEST_DTB_PPI_VIRT 11   /* EL1 virtual timer, INTID 27 */
#define GUEST_DTB_PPI_SEC 13    /* EL1 secure physical timer, INTID 29 */
#define GUEST_DTB_PPI_PHYS 14   /* EL1 non-secure physical timer, INTID 30 */

/* Phandles of the generated tree. */
#define GUEST_DTB_PHANDLE_GIC 1
#define GUEST_DTB_PHANDLE_CLK 2
#define GUEST_DTB_PHANDLE_GPIO 3

struct guest_dtb {
	u64 ram_base, ram_size;
	u32 nr_vcpus;                /* 1..GUEST_DTB_MAX_VCPUS; vCPU i has MPIDR Aff0 = i */
	const char *bootargs;        /* the kernel command line; NULL: none */
	u64 initrd_start, initrd_end; /* guest-physical, end exclusive; 0, 0: no initrd */
	u64 uart_base;               /* the PL011, 4 KiB */
	u32 uart_spi;                /* its SPI number (1 -> INTID 33) */
	u64 gpio_base;               /* the PL061 (4 KiB) with the power button; 0: none */
	u32 gpio_spi;                /* its SPI number (7 -> INTID 39), level-sensitive */
	u32 power_pin;               /* the pin (0..7) of the power button (KEY_POWER) */
	u64 gicd_base;               /* GICv3 distributor, 64 KiB */
	u64 gicr_base;               /* redistributors, nr_vcpus * 128 KiB */
	u32 nr_virtio;               /* virtio-mmio transports, at most GUEST_DTB_MAX_VIRTIO */
	struct {
		u64 base;            /* 0x200 bytes */
		u32 spi;             /* its SPI number (16 -> INTID 48), level-sensitive */
	} virtio[GUEST_DTB_MAX_VIRTIO];
	u32 nr_ivc;                  /* shared-memory channels, at most GUEST_DTB_MAX_IVC */
	struct {
		u64 base, size;      /* the shared region; the doorbell page follows it */
		u32 spi;             /* the doorbell's SPI number (48 -> INTID 80), edge */
		u32 role;            /* 0 or 1 */
		const char *name;    /* the channel's name */
		const char *peer;    /* the other VM's name */
	} ivc[GUEST_DTB_MAX_IVC];
	u32 nr_pt;                   /* passed-through devices, at most GUEST_DTB_MAX_PT */
	struct {
		const char *compatible; /* string list ... */
		u32 compatible_len;     /* ... of this many bytes, NULs included */
		u32 nr_regs;            /* 1..GUEST_DTB_PT_REGS */
		u64 reg_base[GUEST_DTB_PT_REGS], reg_size[GUEST_DTB_PT_REGS];
		u32 nr_irqs;            /* 0..GUEST_DTB_PT_IRQS */
		u32 spi[GUEST_DTB_PT_IRQS]; /* SPI numbers (47 -> INTID 79), level-sensitive */
		bool dma;               /* dma-coherent */
	} pt[GUEST_DTB_MAX_PT];
};

/* Writes the VM's DTB into buf (size bytes; 8-byte alignment is the caller's business, Linux
 * wants it). Returns its size, or 0 if it does not fit or g is invalid (no vCPU or more than
 * GUEST_DTB_MAX_VCPUS, an empty RAM, an initrd ending before it starts, too many virtio,
 * channels or passed-through devices, a passed-through device without reg or compatible, a
 * power pin above 7). */
u32 guest_dtb_build(void *buf, u32 size, const struct guest_dtb *g);

#endif
