/* Split virtqueue walking for the devices the hypervisor serves: every address and length a
 * guest gives is checked against its RAM before use, every index is taken modulo the size. */
#include <bulkhead/string.h>
#include <bulkhead/virtqueue.h>

#define DESC_SIZE 16
#define RING_OFF 4 /* avail->ring[] and used->ring[] follow flags and idx (2 bytes each) */
#define AVAIL_SIZE(n) (6 + 2 * (u64)(n))
#define USED_SIZE(n) (6 + 8 * (u64)(n))

/* A descriptor as the driver wrote it (little-endian, as the CPU). */
struct desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

void *guest_ram_ptr(const struct guest_ram *ram, gpa_t gpa, u64 len)
{
	if (gpa < ram->base || len > ram->size || gpa - ram->base > ram->size - len)
		return NULL;
	return ram->host + (gpa - ram->base);
}

/* Records why the ring is broken in q->err; returns it. */
__attribute__((format(printf, 2, 3))) static const char *fail(struct virtq *q, const char *fmt,
							      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->err, sizeof(q->err), fmt, ap);
	va_end(ap);
	return q->err;
}

/* A 16-bit field of guest memory, read once. */
static u16 ld16(const u8 *p)
{
	return __atomic_load_n((const u16 *)(const void *)p, __ATOMIC_RELAXED);
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

const char *virtq_enable(struct virtq *q, const struct guest_ram *ram)
{
	u32 n = q->num;

	if (!n || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return fail(q, "queue size %u is not a power of two from 1 to %u", n,
			    VIRTQ_MAX_SIZE);
	if (q->desc % 16 || q->driver % 2 || q->device % 4)
		return fail(q,
			    "misaligned rings (descriptors 0x%llx, driver 0x%llx, device 0x%llx)",
			    (unsigned long long)q->desc, (unsigned long long)q->driver,
			    (unsigned long long)q->device);
	q->desc_host = guest_ram_ptr(ram, q->desc, DESC_SIZE * (u64)n);
	q->avail_host = guest_ram_ptr(ram, q->driver, AVAIL_SIZE(n));
	q->used_host = guest_ram_ptr(ram, q->device, USED_SIZE(n));
	if (!q->desc_host || !q->avail_host || !q->used_host)
		return fail(q, "rings outside the VM's RAM (descriptors 0x%llx, driver 0x%llx, "
			       "device 0x%llx)", (unsigned long long)q->desc,
			    (unsigned long long)q->driver, (unsigned long long)q->device);
	q->last_avail = 0;
	q->used_idx = 0;
	q->signal = false;
	q->ready = true;
	return NULL;
}

/* Appends descriptor i (its copy d) to the chain; false (q->err set) if it is not acceptable. */
static bool add_seg(struct virtq *q, const struct guest_ram *ram, struct vq_chain *c, u16 i,
		    const struct desc *d)
{
	bool write = d->flags & VIRTQ_DESC_F_WRITE;
	u8 *host;

	if (d->flags & VIRTQ_DESC_F_INDIRECT) {
		fail(q, "descriptor %u is indirect (not offered)", i);
		return false;
	}
	if (d->len > VIRTQ_MAX_BYTES - (c->rd_len + c->wr_len)) {
		fail(q, "descriptor %u: length 0x%x makes the chain longer than %llu MiB", i,
		     d->len, (unsigned long long)(VIRTQ_MAX_BYTES >> 20));
		return false;
	}
	host = guest_ram_ptr(ram, d->addr, d->len);
	if (!host) {
		fail(q, "descriptor %u: buffer 0x%llx+0x%x is outside the VM's RAM", i,
		     (unsigned long long)d->addr, d->len);
		return false;
	}
	c->seg[c->nr_segs++] = (struct vq_seg){ host, d->len, write };
	if (write)
		c->wr_len += d->len;
	else
		c->rd_len += d->len;
	return true;
}

/* Walks the chain from c->head: at most num descriptors, each next index below num. */
static bool walk(struct virtq *q, const struct guest_ram *ram, struct vq_chain *c)
{
	struct desc d;
	u16 i = c->head;

	c->nr_segs = 0;
	c->rd_len = c->wr_len = 0;
	for (;;) {
		if (c->nr_segs == q->num) {
			fail(q, "the chain from head %u has more than %u descriptors (a loop?)",
			     c->head, q->num);
			return false;
		}
		memcpy(&d, q->desc_host + DESC_SIZE * (u64)i, sizeof(d)); /* read once */
		if (!add_seg(q, ram, c, i, &d))
			return false;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return true;
		if (d.next >= q->num) {
			fail(q, "descriptor %u: next %u is not below the queue size %u", i, d.next,
			     q->num);
			return false;
		}
		i = d.next;
	}
}

enum vq_pop virtq_pop(struct virtq *q, const struct guest_ram *ram, struct vq_chain *c)
{
	u16 avail = __atomic_load_n((const u16 *)(const void *)(q->avail_host + 2),
				    __ATOMIC_ACQUIRE);
	u16 pending = (u16)(avail - q->last_avail);

	if (!pending)
		return VQ_EMPTY;
	if (pending > q->num) {
		fail(q, "available index %u is %u entries ahead of the device's %u (queue size %u)",
		     avail, pending, q->last_avail, q->num);
		return VQ_BROKEN;
	}
	c->head = ld16(q->avail_host + RING_OFF + 2 * (q->last_avail % q->num));
	if (c->head >= q->num) {
		fail(q, "available ring entry %u: head %u is not below the queue size %u",
		     q->last_avail % q->num, c->head, q->num);
		return VQ_BROKEN;
	}
	if (!walk(q, ram, c))
		return VQ_BROKEN;
	q->last_avail++;
	return VQ_CHAIN;
}

void virtq_push(struct virtq *q, u16 head, u32 written)
{
	u8 *e = q->used_host + RING_OFF + 8 * (u64)(q->used_idx % q->num);
	u32 elem[2] = { head, written };

	memcpy(e, elem, sizeof(elem));
	q->used_idx++;
	__atomic_store_n((u16 *)(void *)(q->used_host + 2), q->used_idx, __ATOMIC_RELEASE);
	if (!(ld16(q->avail_host) & VIRTQ_AVAIL_F_NO_INTERRUPT))
		q->signal = true;
}

/* Copies between buf and the chain's readable (write = false) or writable stream. */
u64 vq_segs_copy(const struct vq_seg *seg, u32 nr, bool write, u64 off, u8 *buf, u64 len)
{
	u64 done = 0;

	for (u32 i = 0; i < nr && done < len; i++) {
		const struct vq_seg *s = &seg[i];
		u64 n;

		if (s->write != write)
			continue;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = MIN(s->len - off, len - done);
		if (write)
			memcpy(s->host + off, buf + done, n);
		else
			memcpy(buf + done, s->host + off, n);
		done += n;
		off = 0;
	}
	return done;
}

u64 vq_read(const struct vq_chain *c, u64 off, void *buf, u64 len)
{
	return vq_segs_copy(c->seg, c->nr_segs, false, off, buf, len);
}

u64 vq_write(const struct vq_chain *c, u64 off, const void *buf, u64 len)
{
	return vq_segs_copy(c->seg, c->nr_segs, true, off, (u8 *)(uintptr_t)buf, len);
}
