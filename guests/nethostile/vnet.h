/* nethostile: a minimal polled virtio-mmio driver for several devices at once (two virtio-net
 * ports and a virtio-blk disk), each queue 8 entries in this guest's RAM, with the knobs to break. */
#ifndef VNET_H
#define VNET_H

#include "guest.h"

#define VQ_SIZE 8
#define VNET_HDR 12

/* virtio-mmio registers (virtio 1.2 §4.2.2) */
#define V_MAGIC 0x000
#define V_VERSION 0x004
#define V_DEVICE_ID 0x008
#define V_DRV_FEATURES 0x020
#define V_DRV_FEATURES_SEL 0x024
#define V_QUEUE_SEL 0x030
#define V_QUEUE_NUM 0x038
#define V_QUEUE_READY 0x044
#define V_QUEUE_NOTIFY 0x050
#define V_INT_STATUS 0x060
#define V_INT_ACK 0x064
#define V_STATUS 0x070
#define V_QUEUE_DESC 0x080
#define V_QUEUE_DRIVER 0x090
#define V_QUEUE_DEVICE 0x0a0
#define V_CONFIG 0x100

#define ST_OK 0xf /* ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK */
#define ST_NEEDS_RESET 0x40

#define D_NEXT 1
#define D_WRITE 2

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vq {
	struct vdesc desc[VQ_SIZE] __attribute__((aligned(16)));
	struct {
		uint16_t flags, idx, ring[VQ_SIZE], used_event;
	} avail __attribute__((aligned(4)));
	struct {
		uint16_t flags, idx;
		struct {
			uint32_t id, len;
		} ring[VQ_SIZE];
		uint16_t avail_event;
	} used __attribute__((aligned(4)));
	uint16_t next_avail; /* our avail.idx */
	uint16_t seen_used;  /* used entries consumed */
};

struct vdev {
	uintptr_t base;
	uint32_t nq;
	struct vq q[2];
};

uint32_t vd_read(struct vdev *d, uint32_t off);
void vd_write(struct vdev *d, uint32_t off, uint32_t val);
/* Resets the device, negotiates VERSION_1 (+ lo), sets up its nq queues and DRIVER_OK;
 * returns the status read back (ST_OK if all went well). */
uint32_t vd_setup(struct vdev *d, uint32_t lo);
/* Resets the device (Status 0) and acknowledges its interrupts. */
void vd_reset(struct vdev *d);
void vd_desc(struct vdev *d, uint32_t q, uint16_t i, const volatile void *p, uint32_t len,
	     uint16_t flags, uint16_t next);
/* Makes head available (index += advance) on queue q and notifies; returns the number of
 * buffers the device used since the last vd_kick or vd_used of q (it answers synchronously;
 * another vCPU's notify may have served some already). */
uint32_t vd_kick(struct vdev *d, uint32_t q, uint16_t head, uint16_t advance);
/* Publishes head on queue q without notifying (receive buffers wait for frames). */
void vd_post(struct vdev *d, uint32_t q, uint16_t head);
/* The next used entry of queue q not seen yet: 1 and *id, *len; 0 if none. */
int vd_used(struct vdev *d, uint32_t q, uint32_t *id, uint32_t *len);

#endif
