/* Tests for split virtqueue walking (hyp/core/dev/virtqueue.c) over a fake guest RAM: good
 * chains, loops, buffers outside RAM, huge lengths, runaway indices, index wrap, random rings. */
#include <bulkhead/virtqueue.h>

#include "fake_driver.h"
#include "unit.h"

#define RAM_SIZE (1024 * 1024)

/* A fake with an enabled queue of num entries. */
static void setup(struct fake *f, struct virtq *q, u64 ram_size, u32 num)
{
	fake_init(f, ram_size, num);
	fake_queue(f, q);
	CHECK(virtq_enable(q, &f->ram) == NULL);
	CHECK(q->ready);
}

TEST(vq_guest_ram_ptr_bounds)
{
	u8 buf[64];
	struct guest_ram r = { buf, 0x1000, sizeof(buf) };

	CHECK(guest_ram_ptr(&r, 0x1000, 64) == buf);
	CHECK(guest_ram_ptr(&r, 0x103f, 1) == buf + 63);
	CHECK(guest_ram_ptr(&r, 0x1040, 0) == buf + 64); /* an empty range at the end */
	CHECK(guest_ram_ptr(&r, 0x1040, 1) == NULL);
	CHECK(guest_ram_ptr(&r, 0x0fff, 1) == NULL);
	CHECK(guest_ram_ptr(&r, 0x1000, 65) == NULL);
	CHECK(guest_ram_ptr(&r, 0x1001, 64) == NULL);
	CHECK(guest_ram_ptr(&r, ~0ULL - 8, 0x20) == NULL); /* wraps around */
	CHECK(guest_ram_ptr(&r, 0x1020, ~0ULL) == NULL);
}

TEST(vq_enable_checks_size_alignment_and_ram)
{
	struct fake f;
	struct virtq q;

	fake_init(&f, RAM_SIZE, 8);
	static const u32 bad_sizes[] = { 0, 3, 6, 256, 0x10000, 0xffffffff };
	for (u32 i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
		fake_queue(&f, &q);
		q.num = bad_sizes[i];
		CHECK_CONTAINS(virtq_enable(&q, &f.ram), "is not a power of two");
		CHECK(!q.ready);
	}
	fake_queue(&f, &q);
	q.desc += 8; /* descriptors want 16 */
	CHECK_CONTAINS(virtq_enable(&q, &f.ram), "misaligned");
	fake_queue(&f, &q);
	q.device += 2; /* the used ring wants 4 */
	CHECK_CONTAINS(virtq_enable(&q, &f.ram), "misaligned");
	fake_queue(&f, &q);
	q.device = FD_RAM_BASE + RAM_SIZE - 8; /* 6 + 8 * 8 bytes do not fit */
	CHECK_CONTAINS(virtq_enable(&q, &f.ram), "outside the VM's RAM");
	fake_queue(&f, &q);
	q.desc = 0x20000000;
	CHECK_CONTAINS(virtq_enable(&q, &f.ram), "outside the VM's RAM");
	CHECK(!q.ready);
	fake_queue(&f, &q);
	q.num = VIRTQ_MAX_SIZE;
	CHECK(virtq_enable(&q, &f.ram) == NULL);
	CHECK(q.ready);
	fake_free(&f);
}

TEST(vq_good_chain_and_used_ring)
{
	struct fake f;
	struct virtq q;
	struct vq_chain c;
	u32 id, len;

	setup(&f, &q, RAM_SIZE, 8);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_EMPTY);
	/* head 5: 16 readable bytes -> 512 writable -> 1 writable */
	fake_set_desc(&f, 5, FD_BUF, 16, VIRTQ_DESC_F_NEXT, 2);
	fake_set_desc(&f, 2, FD_BUF + 0x1000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 7);
	fake_set_desc(&f, 7, FD_BUF + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	fake_offer(&f, 5);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	CHECK_EQ(c.head, 5);
	CHECK_EQ(c.nr_segs, 3);
	CHECK_EQ(c.rd_len, 16);
	CHECK_EQ(c.wr_len, 513);
	CHECK(c.seg[0].host == fake_ptr(&f, FD_BUF) && !c.seg[0].write);
	CHECK(c.seg[1].host == fake_ptr(&f, FD_BUF + 0x1000) && c.seg[1].write);
	CHECK(c.seg[2].host == fake_ptr(&f, FD_BUF + 0x2000) && c.seg[2].len == 1);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_EMPTY);
	CHECK_EQ(fake_used_idx(&f), 0);
	virtq_push(&q, 5, 513);
	CHECK_EQ(fake_used_idx(&f), 1);
	fake_used_elem(&f, 0, &id, &len);
	CHECK_EQ(id, 5);
	CHECK_EQ(len, 513);
	CHECK(q.signal);
	/* the driver asks for no interrupts: the device honours it */
	q.signal = false;
	fake_avail_flags(&f, VIRTQ_AVAIL_F_NO_INTERRUPT);
	fake_offer(&f, 7);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	CHECK_EQ(c.nr_segs, 1);
	virtq_push(&q, c.head, 0);
	CHECK(!q.signal);
	CHECK_EQ(fake_used_idx(&f), 2);
	fake_free(&f);
}

TEST(vq_looping_chains_are_refused)
{
	struct fake f;
	struct virtq q;
	struct vq_chain c;

	setup(&f, &q, RAM_SIZE, 8);
	fake_set_desc(&f, 0, FD_BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	fake_set_desc(&f, 1, FD_BUF, 16, VIRTQ_DESC_F_NEXT, 0); /* 0 -> 1 -> 0 -> ... */
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_CONTAINS(q.err, "more than 8 descriptors (a loop?)");
	CHECK(c.nr_segs <= 8);
	/* a descriptor pointing at itself */
	fake_free(&f);
	setup(&f, &q, RAM_SIZE, 4);
	fake_set_desc(&f, 3, FD_BUF, 1, VIRTQ_DESC_F_NEXT, 3);
	fake_offer(&f, 3);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_CONTAINS(q.err, "the chain from head 3 has more than 4 descriptors");
	/* the longest legal chain uses every descriptor once */
	fake_free(&f);
	setup(&f, &q, RAM_SIZE, 4);
	for (u32 i = 0; i < 4; i++)
		fake_set_desc(&f, i, FD_BUF, 1, i < 3 ? VIRTQ_DESC_F_NEXT : 0, (u16)(i + 1));
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	CHECK_EQ(c.nr_segs, 4);
	fake_free(&f);
}

TEST(vq_bad_indices_are_refused)
{
	struct fake f;
	struct virtq q;
	struct vq_chain c;

	setup(&f, &q, RAM_SIZE, 8);
	fake_set_desc(&f, 0, FD_BUF, 16, VIRTQ_DESC_F_NEXT, 8); /* next == size */
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_CONTAINS(q.err, "descriptor 0: next 8 is not below the queue size 8");
	fake_free(&f);
	setup(&f, &q, RAM_SIZE, 8);
	fake_offer(&f, 0xffff); /* head out of range */
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_CONTAINS(q.err, "head 65535 is not below the queue size 8");
	fake_free(&f);
	setup(&f, &q, RAM_SIZE, 8);
	fake_set_avail_idx(&f, 9); /* more entries than the ring has */
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_CONTAINS(q.err, "available index 9 is 9 entries ahead of the device's 0");
	fake_free(&f);
	setup(&f, &q, RAM_SIZE, 8);
	fake_set_avail_idx(&f, 0x8000); /* far ahead */
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	fake_free(&f);
	setup(&f, &q, RAM_SIZE, 8);
	fake_set_desc(&f, 0, FD_BUF, 0, 0, 0);
	fake_set_avail_idx(&f, 8); /* a full ring is fine (all heads 0, each a 0-byte chain) */
	for (int i = 0; i < 8; i++)
		CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_EMPTY);
	fake_free(&f);
}

TEST(vq_buffers_outside_ram_and_huge_lengths_are_refused)
{
	struct fake f;
	struct virtq q;
	struct vq_chain c;
	static const struct {
		u64 addr;
		u32 len;
		const char *why;
	} bad[] = {
		{ FD_RAM_BASE + RAM_SIZE - 4, 8, "buffer 0x400ffffc+0x8 is outside the VM's RAM" },
		{ FD_RAM_BASE - 512, 512, "is outside the VM's RAM" },
		{ 0x20000000, 16, "buffer 0x20000000+0x10 is outside" },
		{ ~0ULL - 15, 32, "is outside the VM's RAM" },
		{ FD_RAM_BASE, 0xffffffff, "length 0xffffffff makes the chain longer than 16 MiB" },
		{ FD_RAM_BASE, RAM_SIZE + 1, "is outside the VM's RAM" },
	};

	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		setup(&f, &q, RAM_SIZE, 8);
		fake_set_desc(&f, 0, FD_BUF, 16, VIRTQ_DESC_F_NEXT, 1);
		fake_set_desc(&f, 1, bad[i].addr, bad[i].len, VIRTQ_DESC_F_WRITE, 0);
		fake_offer(&f, 0);
		CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
		CHECK_CONTAINS(q.err, bad[i].why);
		fake_free(&f);
	}
	/* in RAM, but three 6 MiB buffers make more than 16 MiB */
	setup(&f, &q, 8 * RAM_SIZE, 8);
	for (u32 i = 0; i < 3; i++)
		fake_set_desc(&f, i, FD_RAM_BASE, 6 * RAM_SIZE, VIRTQ_DESC_F_NEXT, (u16)(i + 1));
	fake_set_desc(&f, 2, FD_RAM_BASE, 6 * RAM_SIZE, 0, 0);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_CONTAINS(q.err, "descriptor 2: length 0x600000 makes the chain longer than 16 MiB");
	/* indirect descriptors unless negotiated (test_virtqueue_features.c has the rest) */
	fake_free(&f);
	setup(&f, &q, RAM_SIZE, 8);
	fake_set_desc(&f, 0, FD_BUF, 16, VIRTQ_DESC_F_INDIRECT, 0);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_CONTAINS(q.err, "descriptor 0 is indirect");
	fake_free(&f);
}

TEST(vq_indices_wrap_at_16_bits)
{
	struct fake f;
	struct virtq q;
	struct vq_chain c;
	u32 id, len;

	setup(&f, &q, RAM_SIZE, 4);
	/* both sides near the end of the 16-bit index space */
	q.last_avail = q.used_idx = 0xfffe;
	f.avail = 0xfffe;
	for (u16 h = 0; h < 3; h++) {
		fake_set_desc(&f, h, FD_BUF + 512 * h, 512, VIRTQ_DESC_F_WRITE, 0);
		fake_offer(&f, h);
	}
	CHECK_EQ(f.avail, 1); /* wrapped */
	for (u16 h = 0; h < 3; h++) {
		CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
		CHECK_EQ(c.head, h);
		virtq_push(&q, c.head, 100 + h);
	}
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_EMPTY);
	CHECK_EQ(fake_used_idx(&f), 1);
	for (u16 i = 0; i < 3; i++) { /* ring positions 2, 3, 0 */
		fake_used_elem(&f, (u16)(0xfffe + i), &id, &len);
		CHECK_EQ(id, i);
		CHECK_EQ(len, 100 + i);
	}
	/* and many round trips through every index value */
	fake_free(&f);
	setup(&f, &q, RAM_SIZE, 2);
	fake_set_desc(&f, 1, FD_BUF, 8, 0, 0);
	for (u32 i = 0; i < 70000; i++) {
		fake_offer(&f, 1);
		if (virtq_pop(&q, &f.ram, &c) != VQ_CHAIN || c.head != 1) {
			CHECK(false);
			break;
		}
		virtq_push(&q, c.head, 0);
	}
	CHECK_EQ(fake_used_idx(&f), 70000 & 0xffff);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_EMPTY);
	fake_free(&f);
}

TEST(vq_read_write_streams_across_buffers)
{
	struct fake f;
	struct virtq q;
	struct vq_chain c;
	u8 out[16] = { 0 }, in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	setup(&f, &q, RAM_SIZE, 8);
	memcpy(fake_ptr(&f, FD_BUF), "abcd", 4);
	memcpy(fake_ptr(&f, FD_BUF + 0x100), "efghijkl", 8);
	/* readable 4 + 8, writable 3 + 5, interleaved */
	fake_set_desc(&f, 0, FD_BUF, 4, VIRTQ_DESC_F_NEXT, 1);
	fake_set_desc(&f, 1, FD_BUF + 0x200, 3, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	fake_set_desc(&f, 2, FD_BUF + 0x100, 8, VIRTQ_DESC_F_NEXT, 3);
	fake_set_desc(&f, 3, FD_BUF + 0x300, 5, VIRTQ_DESC_F_WRITE, 0);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	CHECK_EQ(c.rd_len, 12);
	CHECK_EQ(c.wr_len, 8);
	CHECK_EQ(vq_read(&c, 2, out, 8), 8);
	CHECK(!memcmp(out, "cdefghij", 8));
	CHECK_EQ(vq_read(&c, 10, out, 16), 2); /* stops at the end of the stream */
	CHECK(!memcmp(out, "kl", 2));
	CHECK_EQ(vq_read(&c, 12, out, 1), 0);
	CHECK_EQ(vq_write(&c, 1, in, 8), 7);
	CHECK(!memcmp(fake_ptr(&f, FD_BUF + 0x201), in, 2));
	CHECK(!memcmp(fake_ptr(&f, FD_BUF + 0x300), in + 2, 5));
	CHECK_EQ(fake_ptr(&f, FD_BUF + 0x200)[0], 0); /* before the offset: untouched */
	CHECK_EQ(fake_ptr(&f, FD_BUF + 0x305)[0], 0); /* past the buffer: untouched */
	fake_free(&f);
}

/* The next pseudo-random number. */
static u32 rnd(u32 *seed)
{
	*seed = *seed * 1103515245 + 12345;
	return *seed >> 8;
}

/* Fills the rings with mostly plausible, sometimes wild values. */
static void random_rings(struct fake *f, u32 *seed)
{
	for (u32 i = 0; i < VIRTQ_MAX_SIZE; i++) {
		u64 addr = FD_RAM_BASE + rnd(seed) % (RAM_SIZE + 0x100) - 0x80;
		u32 len = rnd(seed) % 0x2000;
		u16 flags = (u16)(rnd(seed) % 8), next = (u16)(rnd(seed) % 20);

		if (rnd(seed) % 16 == 0)
			addr = ((u64)rnd(seed) << 40) ^ rnd(seed);
		if (rnd(seed) % 16 == 0)
			len = rnd(seed) << 8;
		if (rnd(seed) % 32 == 0)
			flags = (u16)rnd(seed);
		fake_set_desc(f, i, addr, len, flags, next);
	}
	for (u32 i = 0; i < VIRTQ_MAX_SIZE; i++) {
		u16 head = (u16)(rnd(seed) % 20);

		memcpy(fake_ptr(f, FD_AVAIL) + 4 + 2 * i, &head, 2);
	}
	fake_set_avail_idx(f, (u16)(rnd(seed) % 8 == 0 ? rnd(seed) : rnd(seed) % 20));
}

/* Random descriptor tables and rings, with and without indirect descriptors: the walker never
 * reads or hands out memory outside RAM, never returns more than num (direct) buffers or more than the byte cap, and always terminates. */
TEST(vq_random_rings)
{
	struct fake f;
	struct virtq q;
	struct vq_chain c;
	u32 seed = 12345, chains = 0, broken = 0;

	fake_init(&f, RAM_SIZE, 16);
	for (int iter = 0; iter < 5000; iter++) {
		random_rings(&f, &seed);
		fake_queue(&f, &q);
		q.num = 1u << (iter % 6);
		q.indirect = (iter / 6) % 2; /* tables point anywhere in the random RAM */
		if (virtq_enable(&q, &f.ram))
			continue;
		for (int n = 0; n < 64; n++) {
			enum vq_pop r = virtq_pop(&q, &f.ram, &c);

			if (r != VQ_CHAIN) {
				broken += r == VQ_BROKEN;
				break;
			}
			chains++;
			CHECK(c.nr_segs >= 1 && c.nr_segs <= (q.indirect ? VIRTQ_MAX_SIZE : q.num));
			CHECK(c.rd_len + c.wr_len <= VIRTQ_MAX_BYTES);
			for (u32 s = 0; s < c.nr_segs; s++)
				CHECK(c.seg[s].host >= f.ram.host &&
				      c.seg[s].host + c.seg[s].len <= f.ram.host + RAM_SIZE);
			virtq_push(&q, c.head, 0);
		}
	}
	CHECK(chains > 500);
	CHECK(broken > 500);
	fake_free(&f);
}
