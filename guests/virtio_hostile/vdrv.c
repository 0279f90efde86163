/* virtio_hostile: the driver side of virtio-mmio slot 0 (see vdrv.h): negotiation, one split
 * virtqueue, and block requests, all polled (the device serves a notify before it returns). */
#include "vdrv.h"

volatile struct vdesc vq_desc[QSIZE] __attribute__((aligned(16)));
volatile struct vavail vq_avail __attribute__((aligned(4)));
volatile struct vused vq_used __attribute__((aligned(4)));
uint8_t req_hdr[16] __attribute__((aligned(16)));
uint8_t req_data[4096] __attribute__((aligned(16)));
volatile uint8_t req_status;

static uint16_t avail_idx; /* our vq_avail.idx */

uint32_t vio_read(uint32_t off)
{
	return *(volatile uint32_t *)(VIO_BASE + off);
}

void vio_write(uint32_t off, uint32_t val)
{
	*(volatile uint32_t *)(VIO_BASE + off) = val;
}

uint32_t vio_negotiate(uint32_t lo, uint32_t hi)
{
	vio_write(V_STATUS, 0);
	vio_write(V_STATUS, ST_ACK | ST_DRIVER);
	vio_write(V_DRV_FEATURES_SEL, 0);
	vio_write(V_DRV_FEATURES, lo);
	vio_write(V_DRV_FEATURES_SEL, 1);
	vio_write(V_DRV_FEATURES, hi);
	vio_write(V_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	return vio_read(V_STATUS);
}

static void set_addr(uint32_t reg, const volatile void *p)
{
	uint64_t a = (uint64_t)(uintptr_t)p;

	vio_write(reg, (uint32_t)a);
	vio_write(reg + 4, (uint32_t)(a >> 32));
}

int vio_setup(void)
{
	return vio_setup_with(F_FLUSH);
}

int vio_setup_with(uint32_t lo)
{
	if (!(vio_negotiate(lo, F_VERSION_1_HI) & ST_FEATURES_OK))
		return 1;
	vio_write(V_QUEUE_SEL, 0);
	if (vio_read(V_QUEUE_NUM_MAX) < QSIZE || vio_read(V_QUEUE_READY))
		return 2;
	memset((void *)&vq_avail, 0, sizeof(vq_avail));
	memset((void *)&vq_used, 0, sizeof(vq_used));
	avail_idx = 0;
	vio_write(V_QUEUE_NUM, QSIZE);
	set_addr(V_QUEUE_DESC, vq_desc);
	set_addr(V_QUEUE_DRIVER, &vq_avail);
	set_addr(V_QUEUE_DEVICE, &vq_used);
	vio_write(V_QUEUE_READY, 1);
	if (vio_read(V_QUEUE_READY) != 1)
		return 3;
	vio_write(V_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	return vio_read(V_STATUS) == (ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK) ? 0 : 4;
}

int vio_kick(uint16_t head, uint16_t advance)
{
	uint16_t used = vq_used.idx;

	vq_avail.ring[avail_idx % QSIZE] = head;
	avail_idx = (uint16_t)(avail_idx + advance);
	dsb();
	vq_avail.idx = avail_idx;
	dsb();
	vio_write(V_QUEUE_NOTIFY, 0);
	dsb();
	if (vq_used.idx == used)
		return 0;
	vio_write(V_INT_ACK, vio_read(V_INT_STATUS) & 1); /* the used-buffer interrupt */
	return 1;
}

static void set_desc(uint16_t i, const volatile void *p, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	vq_desc[i].addr = (uint64_t)(uintptr_t)p;
	vq_desc[i].len = len;
	vq_desc[i].flags = flags;
	vq_desc[i].next = next;
}

int vio_request(uint32_t type, uint64_t sector, uint32_t len)
{
	uint16_t data_flags = D_NEXT | (type == T_OUT ? 0 : D_WRITE);

	memcpy(req_hdr, &type, 4);
	memset(req_hdr + 4, 0, 4);
	memcpy(req_hdr + 8, &sector, 8);
	req_status = 0xEE;
	set_desc(0, req_hdr, 16, D_NEXT, len ? 1 : 2);
	set_desc(1, req_data, len, data_flags, 2);
	set_desc(2, &req_status, 1, D_WRITE, 0);
	if (!vio_kick(0, 1))
		return -1;
	return req_status;
}
