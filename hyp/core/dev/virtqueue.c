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

/* Where descriptors are read from: the queue's descriptor table or one indirect table. */
struct table {
	const u8 *host;
	u32 n;         /* entries */
	bool indirect; /* an indirect table (no further table allowed inside) */
};

static const char *what(const struct table *t)
{
	return t->indirect ? "indirect descriptor" : "descriptor";
}

/* Appends descriptor i of t (its copy d) to the chain; false (q->err set) if it is not
 * acceptable. */
static bool add_seg(struct virtq *q, const struct guest_ram *ram, struct vq_chain *c,
		    const struct table *t, u16 i, const struct desc *d)
{
	bool write = d->flags & VIRTQ_DESC_F_WRITE;
	u8 *host;

	if (c->nr_segs == VIRTQ_MAX_SIZE) {
		fail(q, "the chain from head %u has more than %u descriptors", c->head,
		     VIRTQ_MAX_SIZE);
		return false;
	}
	if (d->len > VIRTQ_MAX_BYTES - (c->rd_len + c->wr_len)) {
		fail(q, "%s %u: length 0x%x makes the chain longer than %llu MiB", what(t), i,
		     d->len, (unsigned long long)(VIRTQ_MAX_BYTES >> 20));
		return false;
	}
	host = guest_ram_ptr(ram, d->addr, d->len);
	if (!host) {
		fail(q, "%s %u: buffer 0x%llx+0x%x is outside the VM's RAM", what(t), i,
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

/* Descriptor i of t (copy d) has VIRTQ_DESC_F_INDIRECT: makes its table the one to walk, from
 * entry 0 (§2.7.5.3). Only negotiated, only one level, only as the chain's last descriptor
 * (NEXT with INDIRECT is forbidden), a non-zero multiple of 16 bytes in RAM. Its WRITE flag
 * is ignored, as the device must. False (q->err set) if not acceptable. */
static bool enter_table(struct virtq *q, const struct guest_ram *ram, struct table *t, u16 i,
			const struct desc *d)
{
	const u8 *host;

	if (!q->indirect) {
		fail(q, "descriptor %u is indirect (not negotiated)", i);
		return false;
	}
	if (t->indirect) {
		fail(q, "indirect descriptor %u points to another table (one level only)", i);
		return false;
	}
	if (d->flags & VIRTQ_DESC_F_NEXT) {
		fail(q, "descriptor %u is indirect and has NEXT", i);
		return false;
	}
	if (!d->len || d->len % DESC_SIZE) {
		fail(q, "descriptor %u: indirect table length 0x%x is not a non-zero multiple of %u",
		     i, d->len, DESC_SIZE);
		return false;
	}
	host = guest_ram_ptr(ram, d->addr, d->len);
	if (!host) {
		fail(q, "descriptor %u: indirect table 0x%llx+0x%x is outside the VM's RAM", i,
		     (unsigned long long)d->addr, d->len);
		return false;
	}
	*t = (struct table){ host, d->len / DESC_SIZE, true };
	return true;
}

/* Walks the chain from c->head: at most num descriptors of the queue's table, each next index
 * below num; then, if the last one is indirect, the table's chain from its entry 0, each next
 * index inside the table; at most VIRTQ_MAX_SIZE buffers in all. Each descriptor is read once:
 * the guest may change it meanwhile, what was checked is what is used. */
static bool walk(struct virtq *q, const struct guest_ram *ram, struct vq_chain *c)
{
	struct table t = { q->desc_host, q->num, false };
	struct desc d;
	u32 seen = 0; /* descriptors taken from t */
	u16 i = c->head;

	c->nr_segs = 0;
	c->rd_len = c->wr_len = 0;
	for (;;) {
		if (seen++ == t.n) {
			fail(q, "the chain from head %u has more than %u descriptors%s (a loop?)",
			     c->head, t.n, t.indirect ? " in its indirect table" : "");
			return false;
		}
		memcpy(&d, t.host + DESC_SIZE * (u64)i, sizeof(d)); /* read once */
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!enter_table(q, ram, &t, i, &d))
				return false;
			seen = 0;
			i = 0;
			continue;
		}
		if (!add_seg(q, ram, c, &t, i, &d))
			return false;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return true;
		if (d.next >= t.n) {
			fail(q, "%s %u: next %u is not below the %s size %u", what(&t), i, d.next,
			     t.indirect ? "table" : "queue", t.n);
			return false;
		}
		i = d.next;
	}
}

static u16 avail_idx(const struct virtq *q)
{
	return __atomic_load_n((const u16 *)(const void *)(q->avail_host + 2), __ATOMIC_ACQUIRE);
}

/* EVENT_IDX: avail_event (after the used ring) = the entry we take next, so the driver
 * notifies when it makes that one available (§2.7.10). */
static void set_avail_event(struct virtq *q)
{
	__atomic_store_n((u16 *)(void *)(q->used_host + RING_OFF + 8 * (u64)q->num),
			 q->last_avail, __ATOMIC_RELAXED);
}

enum vq_pop virtq_pop(struct virtq *q, const struct guest_ram *ram, struct vq_chain *c)
{
	u16 avail = avail_idx(q);
	u16 pending = (u16)(avail - q->last_avail);

	if (!pending) {
		if (!q->event_idx)
			return VQ_EMPTY;
		/* Ask for a notify, then look again: a driver that added an entry before it could
		 * see the new avail_event did not notify. The full barrier orders our store before
		 * the load, as the driver's orders its index store before its avail_event load. */
		set_avail_event(q);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail = avail_idx(q);
		pending = (u16)(avail - q->last_avail);
		if (!pending)
			return VQ_EMPTY;
	}
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
	if (q->event_idx)
		set_avail_event(q);
	return VQ_CHAIN;
}

void virtq_push(struct virtq *q, u16 head, u32 written)
{
	u8 *e = q->used_host + RING_OFF + 8 * (u64)(q->used_idx % q->num);
	u32 elem[2] = { head, written };
	u16 old = q->used_idx;

	memcpy(e, elem, sizeof(elem));
	q->used_idx++;
	__atomic_store_n((u16 *)(void *)(q->used_host + 2), q->used_idx, __ATOMIC_RELEASE);
	if (q->event_idx) {
		/* used->idx out before used_event (after the available ring) is read: a driver
		 * that moved used_event after our read then sees the new index itself. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (virtq_need_event(ld16(q->avail_host + RING_OFF + 2 * (u64)q->num),
				     q->used_idx, old))
			q->signal = true;
	} else if (!(ld16(q->avail_host) & VIRTQ_AVAIL_F_NO_INTERRUPT)) {
		q->signal = true;
	}
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
