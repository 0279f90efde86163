/* The system configuration: VMs and their resources, parsed from a DTB and validated.
 * The same parser runs in the hypervisor (at boot, on the package's DTB) and in bhpack on the
 * host, so both refuse the same mistakes with the same messages. See docs/config.md. */
#ifndef BULKHEAD_CONFIG_H
#define BULKHEAD_CONFIG_H

#include <bulkhead/types.h>

#define CFG_MAX_VMS 8
#define CFG_MAX_VCPUS 8
#define CFG_NAME_MAX 32 /* including the NUL */
#define CFG_MAX_PRIORITY 15
#define CFG_DEFAULT_PRIORITY 1
#define CFG_MAX_ERRORS 32
#define CFG_ERR_LEN 256 /* a whole console line (log_line's buffer) */

/* The VM's device window that RAM may not overlap (GIC and UART live there). */
#define CFG_DEVWIN_BASE 0x08000000ULL
#define CFG_DEVWIN_SIZE 0x02000000ULL
#define CFG_DEFAULT_PL011 0x09000000ULL
/* The PL061 GPIO controller with the power button: fixed, no other device may overlap it. */
#define CFG_PL061_BASE 0x09030000ULL
#define CFG_PL061_SIZE 0x1000ULL
#define CFG_IPA_LIMIT (1ULL << 39)
#define CFG_RAM_ALIGN MiB(2)
#define CFG_RAM_MAX GiB(4)
#define CFG_POOL_MAX GiB(16)
#define CFG_BOOTARGS_MAX 1024 /* bytes of the kernel command line, including the NUL */
#define CFG_DTB_MAX MiB(2)    /* a VM's own device tree (arm64 booting.rst's limit); bhpack
			       * checks it, and keeps this much RAM free for it beside an initrd */

/* virtio-mmio transports (QEMU virt's layout): slot n at CFG_VIRTIO_BASE + n * 0x200, on
 * SPI CFG_VIRTIO_SPI0 + n (INTID 48 + n). */
#define CFG_VIRTIO_BASE 0x0A000000ULL
#define CFG_VIRTIO_STRIDE 0x200ULL
#define CFG_VIRTIO_SLOTS 32
#define CFG_VIRTIO_SPI0 16
#define CFG_MAX_VIRTIO 8 /* virtio devices per VM */
#define CFG_SECTOR 512   /* a disk's size is a multiple of this */
#define CFG_DISK_MAX GiB(1)
#define CFG_MEDIATED_PATH_MAX 128 /* BHC_BLK_PATH_MAX */

/* Shared-memory channels (docs/config.md, /channels): a region shared by two VMs at the same
 * guest-physical address in both, followed by one 4 KiB doorbell page; channel n's doorbell
 * raises SPI CFG_CHAN_SPI0 + n (INTID 80 + n) in the peer. */
#define CFG_MAX_CHANNELS 4
#define CFG_CHAN_SIZE_MAX MiB(16)
#define CFG_CHAN_DOORBELL KiB(4) /* the doorbell page, right after the shared region */
#define CFG_CHAN_SPI0 48
#define CFG_VIRTIO_WINDOW (CFG_VIRTIO_SLOTS * CFG_VIRTIO_STRIDE) /* 0x0A00_0000..0x0A00_4000 */

struct cfg_region {
	u64 base;
	u64 size;
};

/* A virtio-blk disk: a RAM disk of size bytes, filled from image (if any) at VM creation. */
struct cfg_disk {
	u32 slot;          /* virtio-mmio slot, 0..CFG_VIRTIO_SLOTS-1 */
	u64 size;          /* bytes; 0: the image's size rounded up to CFG_SECTOR */
	const char *image; /* path of the initial contents (in the package), NULL: empty */
	const char *mediated; /* the file in the management VM that holds it (served there by
			       * `bhctl blkd`), NULL: a RAM disk */
};

/* A virtio-net port: MAC address, attached to the virtual switch named sw (vswitch.c). */
struct cfg_nic {
	u32 slot;               /* virtio-mmio slot, shared with the disks' */
	u8 mac[6];              /* unicast, unique in the system */
	char sw[CFG_NAME_MAX];  /* the switch's name */
};

/* A passed-through physical device (docs/config.md, passthrough@...): its register ranges,
 * mapped at the same guest-physical address (whole 4 KiB pages), and its SPIs, delivered to
 * the VM as the same INTIDs. */
#define CFG_MAX_PT 4       /* passed-through devices per VM */
#define CFG_PT_MAX_REGS 4  /* register ranges per device */
#define CFG_PT_MAX_IRQS 4  /* interrupts per device */
#define CFG_PT_COMPAT_MAX 128 /* bytes of its 'compatible' list, NULs included */
#define CFG_PT_INTID_MAX 95   /* the virtual GIC's last SPI */

struct cfg_passthrough {
	char name[CFG_NAME_MAX];        /* the node's name, for messages ("passthrough@a003e00") */
	u32 nr_regs;
	struct cfg_region reg[CFG_PT_MAX_REGS]; /* as the device tree shows them (any alignment) */
	u32 nr_irqs;
	u32 irq[CFG_PT_MAX_IRQS];       /* INTIDs of SPIs, 32..CFG_PT_INTID_MAX */
	const char *compatible;         /* string list, into the configuration DTB */
	u32 compatible_len;             /* its bytes, the last NUL included */
	bool dma;                       /* the device does DMA (needs identity-mapped RAM) */
};

/* The whole 4 KiB pages a register range occupies: what the VM is really given. */
static inline void cfg_pt_pages(const struct cfg_region *r, u64 *base, u64 *size)
{
	u64 end = (r->base + r->size + 0xFFFULL) & ~0xFFFULL;

	*base = r->base & ~0xFFFULL;
	*size = end - *base;
}

struct cfg_vm {
	char name[CFG_NAME_MAX];
	u32 id; /* index in the file */
	bool valid; /* false if any error named this VM */
	u32 vcpus;
	u32 pcpus[CFG_MAX_VCPUS];
	u32 priority;
	struct cfg_region ram;
	struct cfg_region pl011;
	/* Strings point into the configuration DTB. */
	const char *image;    /* path of the boot image */
	const char *bootargs; /* kernel command line (< CFG_BOOTARGS_MAX bytes), NULL if none */
	const char *initrd;   /* initramfs path, NULL if none */
	const char *dtb;      /* the VM's own device tree path, NULL: generated */
	u32 nr_disks;         /* virtio-blk devices, in file order */
	struct cfg_disk disk[CFG_MAX_VIRTIO];
	u32 nr_nics;          /* virtio-net devices, in file order (with the disks: at most
			       * CFG_MAX_VIRTIO) */
	struct cfg_nic nic[CFG_MAX_VIRTIO];
	bool management;      /* the management VM: its control requests are served */
	bool identity;        /* RAM identity-mapped: guest-physical == physical (identity-map) */
	u32 nr_pt;            /* passed-through devices, in file order */
	struct cfg_passthrough pt[CFG_MAX_PT];
	u32 nr_vcons;         /* virtio-console devices: 0 or 1 (counted with the others) */
	u32 vcon_slot;        /* its virtio-mmio slot */
};

/* The VM's virtio devices of every kind (at most CFG_MAX_VIRTIO). */
static inline u32 cfg_nr_virtio(const struct cfg_vm *vm)
{
	return vm->nr_disks + vm->nr_nics + vm->nr_vcons;
}

struct cfg_errors {
	u32 count;
	u32 dropped; /* errors beyond CFG_MAX_ERRORS */
	char msg[CFG_MAX_ERRORS][CFG_ERR_LEN];
};

/* A shared-memory channel between two VMs (index id in /channels, file order). */
struct cfg_channel {
	char name[CFG_NAME_MAX];
	u32 id;      /* index in the file: its interrupt is INTID 32 + CFG_CHAN_SPI0 + id */
	bool valid;  /* false if any error named this channel */
	u32 vm[2];   /* the two VMs (indices in cfg_system.vm), in the order of 'vms' (role 0, 1) */
	u64 ipa;     /* guest-physical base of the shared region in both VMs */
	u64 size;    /* bytes, a multiple of 4 KiB; the doorbell page follows at ipa + size */
	int node;    /* its node in the configuration DTB (parser's use) */
};

struct cfg_system {
	u32 nr_vms;
	struct cfg_vm vm[CFG_MAX_VMS];
	u32 nr_channels;
	struct cfg_channel chan[CFG_MAX_CHANNELS];
	u64 pool_size; /* /pool: bytes set aside for VMs created at run time, 0: none */
};

/* What the parser checks beyond the file itself; 0 means "not known, do not check". */
struct cfg_limits {
	u32 nr_pcpus;
};

/* Parses and validates the configuration DTB (blob of at most size bytes). file names the
 * source in messages. Every VM is parsed; a VM with an error has valid = false. Returns the
 * number of errors (0 = everything valid). Errors not tied to a VM (bad blob, no /vms) leave
 * nr_vms = 0. */
u32 config_parse(const void *blob, u64 size, const char *file, const struct cfg_limits *lim,
		 struct cfg_system *sys, struct cfg_errors *errs);

/* Text for an fdt_init() error ("bad magic", "truncated", ...), for messages. */
const char *config_fdt_reason(int err);

#endif
