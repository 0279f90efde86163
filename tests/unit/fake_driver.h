/* A fake guest for the virtqueue and virtio tests: a RAM buffer at guest-physical FD_RAM_BASE and
 * the driver's side of one split virtqueue in it (descriptors, available ring, used ring). */
#ifndef FAKE_DRIVER_H
#define FAKE_DRIVER_H

#include <stdlib.h>
#include <string.h>

#include <bulkhead/virtqueue.h>

#define FD_RAM_BASE 0x40000000ULL
#define FD_DESC (FD_RAM_BASE + 0x1000)  /* descriptor table */
#define FD_AVAIL (FD_RAM_BASE + 0x2000) /* driver area */
#define FD_USED (FD_RAM_BASE + 0x3000)  /* device area */
#define FD_BUF (FD_RAM_BASE + 0x10000)  /* buffers from here */

struct fake {
	struct guest_ram ram;
	u32 num;    /* queue size */
	u16 avail;  /* the driver's avail->idx */
	u16 used;   /* used entries the driver has consumed */
};

/* A zeroed guest RAM of size bytes (a multiple of 4 KiB). */
static inline void fake_init(struct fake *f, u64 size, u32 num)
{
	f->ram.host = aligned_alloc(4096, size);
	memset(f->ram.host, 0, size);
	f->ram.base = FD_RAM_BASE;
	f->ram.size = size;
	f->num = num;
	f->avail = f->used = 0;
}

static inline void fake_free(struct fake *f)
{
	free(f->ram.host);
}

static inline u8 *fake_ptr(struct fake *f, u64 gpa)
{
	return f->ram.host + (gpa - FD_RAM_BASE);
}

static inline void fake_set_desc(struct fake *f, u32 i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 *d = fake_ptr(f, FD_DESC) + 16 * (u64)i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* Entry i of a descriptor table at guest-physical table (the queue's or an indirect one). */
static inline void fake_set_table_desc(struct fake *f, u64 table, u32 i, u64 addr, u32 len,
				       u16 flags, u16 next)
{
	u8 *d = fake_ptr(f, table) + 16 * (u64)i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* EVENT_IDX: the driver's used_event (after the available ring) and the device's avail_event
 * (after the used ring). */
static inline void fake_set_used_event(struct fake *f, u16 v)
{
	memcpy(fake_ptr(f, FD_AVAIL) + 4 + 2 * (u64)f->num, &v, 2);
}

static inline u16 fake_avail_event(struct fake *f)
{
	u16 v;

	memcpy(&v, fake_ptr(f, FD_USED) + 4 + 8 * (u64)f->num, 2);
	return v;
}

static inline void fake_set_avail_idx(struct fake *f, u16 idx)
{
	f->avail = idx;
	memcpy(fake_ptr(f, FD_AVAIL) + 2, &idx, 2);
}

/* Makes the chain starting at head available. */
static inline void fake_offer(struct fake *f, u16 head)
{
	memcpy(fake_ptr(f, FD_AVAIL) + 4 + 2 * (f->avail % f->num), &head, 2);
	fake_set_avail_idx(f, (u16)(f->avail + 1));
}

static inline void fake_avail_flags(struct fake *f, u16 flags)
{
	memcpy(fake_ptr(f, FD_AVAIL), &flags, 2);
}

static inline u16 fake_used_idx(struct fake *f)
{
	u16 v;

	memcpy(&v, fake_ptr(f, FD_USED) + 2, 2);
	return v;
}

/* The used element at ring position i (modulo the size): id and len. */
static inline void fake_used_elem(struct fake *f, u16 i, u32 *id, u32 *len)
{
	u8 *e = fake_ptr(f, FD_USED) + 4 + 8 * (u64)(i % f->num);

	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
}

/* A queue set up as a transport would, over the fake's rings. */
static inline void fake_queue(struct fake *f, struct virtq *q)
{
	virtq_reset(q);
	q->num = f->num;
	q->desc = FD_DESC;
	q->driver = FD_AVAIL;
	q->device = FD_USED;
}

#endif
