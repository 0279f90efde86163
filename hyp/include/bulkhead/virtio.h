/* virtio devices the hypervisor serves over the virtio-mmio transport (virtio 1.2 §4.2, version 2
 * "modern"): the transport's state and register model, and the devices behind it (virtio-blk,
 * virtio-net; virtio-console has its own header, virtio_console.h). */
#ifndef BULKHEAD_VIRTIO_H
#define BULKHEAD_VIRTIO_H

#include <bulkhead/mmio.h>
#include <bulkhead/spinlock.h>
#include <bulkhead/types.h>
#include <bulkhead/virtqueue.h>
#include <bulkhead/vswitch.h>

#define VIRTIO_MMIO_SIZE 0x200
#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION 2
#define VIRTIO_VENDOR_ID 0x4B485542 /* "BUHK" */
/* Queues per device: virtio-console's 4 ports need 10 (two per port and two for control); the
 * others use 1 or 2. Each queue costs about 180 bytes of the device's structure. */
#define VIRTIO_MAX_QUEUES 10
#define VIRTIO_CONFIG_MAX 64 /* bytes of device configuration kept; the rest reads as 0 */

/* Device status (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

#define VIRTIO_F_VERSION_1 BIT(32) /* offered by every device and required */
/* What every device offers besides its own bits: VERSION_1 and the ring features virtqueue.c
 * serves (indirect descriptors, EVENT_IDX), each taken only if the driver accepts it. */
#define VIRTIO_F_COMMON (VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX)
#define VIRTIO_INT_USED 0x1   /* InterruptStatus: a used buffer */
#define VIRTIO_INT_CONFIG 0x2 /* InterruptStatus: configuration change (also NEEDS_RESET) */

struct vm;
struct virtio_dev;
struct blk_med;

struct virtio_dev_ops {
	const char *name; /* "virtio-blk", in reports */
	u32 device_id;
	u64 features;     /* offered, VIRTIO_F_COMMON included */
	u32 nr_queues;    /* at most VIRTIO_MAX_QUEUES */
	/* Serves what the driver made available in queue q (ready, driver OK). Returns NULL, or
	 * why the device must refuse the queue (it then needs a reset). Device lock held
	 * (virtio-net drops it while a frame crosses the switch, and takes it back). */
	const char *(*notify)(struct virtio_dev *d, u32 q);
	/* Optional. reset: the device's own state is cleared with the transport's (device lock
	 * held). unlocked: runs after every register write and reset, once the device lock is
	 * released (virtio-console calls out of the device from there). */
	void (*reset)(struct virtio_dev *d);
	void (*unlocked)(struct virtio_dev *d);
};

/* One virtio-mmio transport and the generic state of the device behind it. */
struct virtio_dev {
	const struct virtio_dev_ops *ops;
	struct vm *vm;         /* interrupt line and console reports */
	u32 slot, intid;
	struct guest_ram ram;  /* the VM's RAM, for the queues */
	spinlock_t lock;       /* every register access and the serving of a notify */
	u8 config[VIRTIO_CONFIG_MAX]; /* the device configuration space (little-endian) */
	/* the transport's state, cleared by a reset */
	u32 status, isr;
	u32 dev_features_sel, drv_features_sel, queue_sel;
	u64 drv_features;
	bool irq_level;
	u32 epoch; /* changes at every reset and queue (re)enable: a chain taken before is stale */
	struct virtq q[VIRTIO_MAX_QUEUES];
	struct vq_chain chain; /* the chain being served */
};

extern const struct mmio_ops virtio_mmio_ops;

/* Sets up d (already zeroed) for slot with the device's ops; the device fills d->config. */
void virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, struct vm *vm,
		     u32 slot, const struct guest_ram *ram);
/* Device reset: what a write of 0 to Status does (VM reset). */
void virtio_dev_reset(struct virtio_dev *d);

/* For devices that use a queue outside a notify of their own (virtio-net's receive queue),
 * device lock held: true if queue qi may be served now (ready, DRIVER_OK, no NEEDS_RESET);
 * raises the used-buffer interrupt if virtq_push asked for one; refuses the queue (the device
 * needs a reset, one report). */
bool virtio_dev_serving(const struct virtio_dev *d, u32 qi);
void virtio_dev_used(struct virtio_dev *d, u32 qi);
void virtio_dev_fail(struct virtio_dev *d, u32 q, const char *why);

/* --- virtio-blk (device ID 2): a RAM disk owned by the hypervisor --- */

#define VIRTIO_BLK_ID 2
#define VIRTIO_BLK_SERIAL_LEN 20

struct virtio_blk {
	struct virtio_dev dev;
	u8 *disk;  /* size bytes, the hypervisor's */
	u64 size;  /* a multiple of 512 */
	paddr_t pa, disk_pa; /* where this structure and the disk were allocated */
	char serial[VIRTIO_BLK_SERIAL_LEN + 1]; /* GET_ID: "bulkhead-<vm>-<slot>", cut at 20 */
	struct blk_med *med; /* mediated by the management VM (blk_mediated.c), NULL: RAM disk */
	/* requests completed (device lock held), for `bhctl stats`: reads, writes and flushes
	 * that succeeded and their bytes, and requests that failed (S_IOERR) */
	u64 reads, writes, flushes, read_bytes, written_bytes, errors;
};

/* Counts one completed request of type (VIRTIO_BLK_T_IN 0, OUT 1, FLUSH 4; others: only a
 * failure is counted) that did or did not succeed, moving bytes (device lock held). */
void virtio_blk_count(struct virtio_blk *b, u32 type, bool ok, u64 bytes);
/* Takes more requests off b's queue after a mediated request completed (device lock held). */
void virtio_blk_resume(struct virtio_blk *b);
/* Sets up a zeroed b: disk of size bytes for VM vm (named name) in slot; disk NULL for a
 * mediated disk (b->med set by the caller afterwards). */
void virtio_blk_init(struct virtio_blk *b, struct vm *vm, const char *name, u32 slot,
		     const struct guest_ram *ram, u8 *disk, u64 size);

/* --- virtio-net (device ID 1): a port of a virtual switch (vswitch.c) --- */

#define VIRTIO_NET_ID 1
#define VIRTIO_NET_HDR_LEN 12 /* struct virtio_net_hdr with num_buffers (VERSION_1) */

struct virtio_net {
	struct virtio_dev dev;
	struct vswitch_port port; /* mac, counters */
	paddr_t pa;               /* where this structure was allocated */
};

/* Sets up a zeroed n for VM vm in slot with address mac; the caller attaches n->port. */
void virtio_net_init(struct virtio_net *n, struct vm *vm, u32 slot, const struct guest_ram *ram,
		     const u8 mac[6]);

/* --- a VM's virtio devices (virtio_vm.c) --- */

/* Creates the VM's configured devices (disks from the page allocator, filled from their images
 * in vm->img) and maps their transports. All or nothing; E_NOMEM, E_INVAL, E_FULL. */
int virtio_vm_create(struct vm *vm);
/* Frees every device of the VM (stopped, its vCPUs off their CPUs): ports leave their
 * switches first. */
void virtio_vm_destroy(struct vm *vm);
/* Resets every device of the VM (the VM is stopped); disks keep their contents. */
void virtio_vm_reset(struct vm *vm);

#endif
