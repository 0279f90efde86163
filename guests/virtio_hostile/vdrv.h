/* virtio_hostile: a minimal virtio-mmio / virtio-blk driver for slot 0 (0x0a000000), polled, with
 * its one queue (8 entries) in this guest's RAM, and the knobs the hostile checks turn. */
#ifndef VDRV_H
#define VDRV_H

#include "guest.h"

#define VIO_BASE 0x0a000000UL
#define QSIZE 8

/* Registers (virtio 1.2 §4.2.2). */
#define V_MAGIC 0x000
#define V_VERSION 0x004
#define V_DEVICE_ID 0x008
#define V_VENDOR_ID 0x00c
#define V_DEV_FEATURES 0x010
#define V_DEV_FEATURES_SEL 0x014
#define V_DRV_FEATURES 0x020
#define V_DRV_FEATURES_SEL 0x024
#define V_QUEUE_SEL 0x030
#define V_QUEUE_NUM_MAX 0x034
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

#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define ST_NEEDS_RESET 0x40

#define F_RO (1u << 5) /* read-only disk: not offered */
#define F_FLUSH (1u << 9)
#define F_INDIRECT (1u << 28)
#define F_EVENT_IDX (1u << 29)
#define F_VERSION_1_HI 1u /* bit 32: bit 0 of the second word */

#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4

#define T_IN 0
#define T_OUT 1
#define T_GET_ID 8
#define T_DISCARD 11

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vavail {
	uint16_t flags, idx, ring[QSIZE], used_event;
};

struct vused {
	uint16_t flags, idx;
	struct {
		uint32_t id, len;
	} ring[QSIZE];
	uint16_t avail_event;
};

/* The queue and the request buffers (all in RAM). */
extern volatile struct vdesc vq_desc[QSIZE];
extern volatile struct vavail vq_avail;
extern volatile struct vused vq_used;
extern uint8_t req_hdr[16], req_data[4096];
extern volatile uint8_t req_status;

uint32_t vio_read(uint32_t off);
void vio_write(uint32_t off, uint32_t val);
/* Reset, ACKNOWLEDGE | DRIVER, offers features (lo, hi words) and sets FEATURES_OK; returns
 * the status read back. */
uint32_t vio_negotiate(uint32_t lo, uint32_t hi);
/* A complete initialization with queue 0 ready and DRIVER_OK, accepting FLUSH and VERSION_1
 * (vio_setup_with: the features lo of bits 0-31); 0 if it worked, else the step. */
int vio_setup(void);
int vio_setup_with(uint32_t lo);
/* Makes descriptor head available (the ring entry: head; the index: +advance) and notifies.
 * Returns 1 if the device used a buffer (its interrupt status then acknowledged), 0 if not
 * (it answers synchronously). */
int vio_kick(uint16_t head, uint16_t advance);
/* A request: header (type, sector) -> data (len bytes; device-writable for IN, GET_ID) ->
 * status. Returns the status byte, or -1 if the device did not answer. */
int vio_request(uint32_t type, uint64_t sector, uint32_t len);

#endif
