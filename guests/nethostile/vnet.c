/* nethostile: the driver side of its virtio-mmio devices (vnet.h): negotiation, split queues,
 * all polled (the hypervisor serves a notify, and delivers a frame, before it returns). */
#include "vnet.h"

uint32_t vd_read(struct vdev *d, uint32_t off)
{
	return *(volatile uint32_t *)(d->base + off);
}

void vd_write(struct vdev *d, uint32_t off, uint32_t val)
{
	*(volatile uint32_t *)(d->base + off) = val;
}

static void set_addr(struct vdev *d, uint32_t reg, const volatile void *p)
{
	uint64_t a = (uint64_t)(uintptr_t)p;

	vd_write(d, reg, (uint32_t)a);
	vd_write(d, reg + 4, (uint32_t)(a >> 32));
}

void vd_reset(struct vdev *d)
{
	vd_write(d, V_INT_ACK, vd_read(d, V_INT_STATUS));
	vd_write(d, V_STATUS, 0);
}

uint32_t vd_setup(struct vdev *d, uint32_t lo)
{
	vd_reset(d);
	vd_write(d, V_STATUS, 3);
	vd_write(d, V_DRV_FEATURES_SEL, 0);
	vd_write(d, V_DRV_FEATURES, lo);
	vd_write(d, V_DRV_FEATURES_SEL, 1);
	vd_write(d, V_DRV_FEATURES, 1); /* VIRTIO_F_VERSION_1 */
	vd_write(d, V_STATUS, 0xb);
	for (uint32_t i = 0; i < d->nq; i++) {
		struct vq *q = &d->q[i];

		memset(q, 0, sizeof(*q));
		vd_write(d, V_QUEUE_SEL, i);
		vd_write(d, V_QUEUE_NUM, VQ_SIZE);
		set_addr(d, V_QUEUE_DESC, q->desc);
		set_addr(d, V_QUEUE_DRIVER, &q->avail);
		set_addr(d, V_QUEUE_DEVICE, &q->used);
		vd_write(d, V_QUEUE_READY, 1);
	}
	vd_write(d, V_STATUS, ST_OK);
	return vd_read(d, V_STATUS);
}

void vd_desc(struct vdev *d, uint32_t q, uint16_t i, const volatile void *p, uint32_t len,
	     uint16_t flags, uint16_t next)
{
	volatile struct vdesc *e = &d->q[q].desc[i];

	e->addr = (uint64_t)(uintptr_t)p;
	e->len = len;
	e->flags = flags;
	e->next = next;
}

static void publish(struct vq *q, uint16_t head, uint16_t advance)
{
	q->avail.ring[q->next_avail % VQ_SIZE] = head;
	q->next_avail = (uint16_t)(q->next_avail + advance);
	dsb();
	*(volatile uint16_t *)&q->avail.idx = q->next_avail;
	dsb();
}

void vd_post(struct vdev *d, uint32_t q, uint16_t head)
{
	publish(&d->q[q], head, 1);
}

uint32_t vd_kick(struct vdev *d, uint32_t qi, uint16_t head, uint16_t advance)
{
	struct vq *q = &d->q[qi];
	uint16_t now, n;

	publish(q, head, advance);
	vd_write(d, V_QUEUE_NOTIFY, qi);
	dsb();
	vd_write(d, V_INT_ACK, vd_read(d, V_INT_STATUS) & 1);
	now = *(volatile uint16_t *)&q->used.idx;
	n = (uint16_t)(now - q->seen_used);
	q->seen_used = now;
	return n;
}

int vd_used(struct vdev *d, uint32_t qi, uint32_t *id, uint32_t *len)
{
	struct vq *q = &d->q[qi];
	volatile struct vq *vq = q;

	dsb();
	if (vq->used.idx == q->seen_used)
		return 0;
	*id = vq->used.ring[q->seen_used % VQ_SIZE].id;
	*len = vq->used.ring[q->seen_used % VQ_SIZE].len;
	q->seen_used++;
	return 1;
}
