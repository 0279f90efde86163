/* Split virtqueues (virtio 1.2 §2.7) as a device walks them: the available ring, descriptor
 * chains and the used ring, all in guest RAM. Pure code over a guest_ram window (unit-tested). */
#ifndef BULKHEAD_VIRTQUEUE_H
#define BULKHEAD_VIRTQUEUE_H

#include <bulkhead/types.h>

#define VIRTQ_MAX_SIZE 128       /* QueueNumMax: descriptors per queue, also per chain (direct
				  * and indirect descriptors together) */
#define VIRTQ_MAX_BYTES MiB(16)  /* the total length of one chain */
#define VIRTQ_ERR_LEN 112

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* Ring features (§6), negotiated per device; a queue takes them when it is enabled. */
#define VIRTIO_F_INDIRECT_DESC BIT(28)
#define VIRTIO_F_EVENT_IDX BIT(29)

/* A VM's RAM as the hypervisor sees it: guest-physical [base, base + size) at host. */
struct guest_ram {
	u8 *host;
	gpa_t base;
	u64 size;
};

/* The host pointer to guest-physical [gpa, gpa + len), or NULL unless all of it is RAM (the
 * rule of vm_ram_contains). Nothing is translated before the check. */
void *guest_ram_ptr(const struct guest_ram *ram, gpa_t gpa, u64 len);

/* One buffer of a chain, checked to lie in RAM. */
struct vq_seg {
	u8 *host;
	u32 len;
	bool write; /* device-writable */
};

/* A descriptor chain taken from the available ring. Device-readable and device-writable
 * buffers form two byte streams, each in chain order (vq_read / vq_write). */
struct vq_chain {
	u16 head;
	u32 nr_segs;
	u64 rd_len, wr_len; /* total bytes of each stream */
	struct vq_seg seg[VIRTQ_MAX_SIZE];
};

/* (Ordered to leave no padding: a device has up to VIRTIO_MAX_QUEUES of these, and
 * virtio-net's structure fits one page, virtio-blk's two.) */
struct virtq {
	/* written by the driver through the transport while the queue is not ready */
	u32 num;
	gpa_t desc, driver, device;
	/* the device's side, valid while ready */
	u8 *desc_host, *avail_host, *used_host;
	u16 last_avail; /* the next available ring entry to take */
	u16 used_idx;   /* our copy of used->idx */
	bool ready;     /* QueueReady (the driver's, checked by virtq_enable) */
	bool signal;    /* used buffers were added and the driver wants an interrupt */
	/* negotiated ring features, set by the transport before virtq_enable */
	bool indirect;  /* VIRTIO_F_INDIRECT_DESC: descriptors may point to a table */
	bool event_idx; /* VIRTIO_F_EVENT_IDX: used_event / avail_event instead of the flags */
	char err[VIRTQ_ERR_LEN]; /* why the ring is broken */
};

enum vq_pop {
	VQ_EMPTY,  /* nothing available */
	VQ_CHAIN,  /* a chain was taken */
	VQ_BROKEN, /* the ring is malformed (q->err says how): serve no more */
};

/* Forgets everything (device reset). */
void virtq_reset(struct virtq *q);
/* QueueReady = 1: checks the size (a power of two up to VIRTQ_MAX_SIZE) and that the three
 * areas lie in RAM, aligned; then serves from index 0. Returns NULL or why not. */
const char *virtq_enable(struct virtq *q, const struct guest_ram *ram);
/* Takes the next available chain into c: every index modulo the queue size, at most num direct
 * descriptors, every buffer in RAM, at most VIRTQ_MAX_BYTES in all; with q->indirect, the last
 * descriptor may point to one table in RAM (no further table, at most VIRTQ_MAX_SIZE
 * descriptors in the chain). With q->event_idx, writes avail_event (the driver notifies once it
 * makes entry last_avail available) and looks again after finding the ring empty. */
enum vq_pop virtq_pop(struct virtq *q, const struct guest_ram *ram, struct vq_chain *c);
/* Returns a chain to the driver with the number of bytes written into it; sets q->signal if the
 * driver wants an interrupt: NO_INTERRUPT clear, or with q->event_idx, used_event passed. */
void virtq_push(struct virtq *q, u16 head, u32 written);
/* vring_need_event (§2.7.10): true if moving an index from old to new passes event, that is if
 * event is in [old, new) modulo 2^16. */
static inline bool virtq_need_event(u16 event, u16 new_idx, u16 old)
{
	return (u16)(new_idx - event - 1) < (u16)(new_idx - old);
}

/* Copies up to len bytes at offset off of the chain's readable stream into buf / from buf into
 * its writable stream. Return the number of bytes copied. */
u64 vq_read(const struct vq_chain *c, u64 off, void *buf, u64 len);
/* The same over nr segments kept apart from a chain: write = the device-writable stream (buf is
 * only read from then), else the readable one. */
u64 vq_segs_copy(const struct vq_seg *seg, u32 nr, bool write, u64 off, u8 *buf, u64 len);
u64 vq_write(const struct vq_chain *c, u64 off, const void *buf, u64 len);

#endif
