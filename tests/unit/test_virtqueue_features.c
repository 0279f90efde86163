/* Tests for the negotiated ring features of split virtqueues (hyp/core/dev/virtqueue.c):
 * indirect descriptor tables (every check a direct chain has, plus the table's) and EVENT_IDX. */
#include <bulkhead/virtqueue.h>

#include "fake_driver.h"
#include "unit.h"

#define RAM_SIZE (1024 * 1024)
#define TABLE (FD_RAM_BASE + 0x8000) /* an indirect table */

/* A fake with an enabled queue of num entries and the given ring features. */
static void setup(struct fake *f, struct virtq *q, u32 num, bool indirect, bool event_idx)
{
	fake_init(f, RAM_SIZE, num);
	fake_queue(f, q);
	q->indirect = indirect;
	q->event_idx = event_idx;
	CHECK(virtq_enable(q, &f->ram) == NULL);
	CHECK(q->ready);
}

TEST(vq_indirect_chain_streams_across_table)
{
	struct fake f;
	struct virtq q;
	struct vq_chain c;
	u8 out[16] = { 0 }, in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	setup(&f, &q, 8, true, false);
	memcpy(fake_ptr(&f, FD_BUF), "abcd", 4);
	memcpy(fake_ptr(&f, FD_BUF + 0x100), "efghijkl", 8);
	/* head 3 points to a table of 4 (WRITE on the indirect descriptor ignored, §2.7.5.3.2);
	 * in the table: 0 -> 2 -> 1 -> 3, readable 4 + 8, writable 3 + 5 */
	fake_set_desc(&f, 3, TABLE, 4 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	fake_set_table_desc(&f, TABLE, 0, FD_BUF, 4, VIRTQ_DESC_F_NEXT, 2);
	fake_set_table_desc(&f, TABLE, 2, FD_BUF + 0x100, 8, VIRTQ_DESC_F_NEXT, 1);
	fake_set_table_desc(&f, TABLE, 1, FD_BUF + 0x200, 3,
			    VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	fake_set_table_desc(&f, TABLE, 3, FD_BUF + 0x300, 5, VIRTQ_DESC_F_WRITE, 0);
	fake_offer(&f, 3);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	CHECK_EQ(c.head, 3);
	CHECK_EQ(c.nr_segs, 4);
	CHECK_EQ(c.rd_len, 12);
	CHECK_EQ(c.wr_len, 8);
	CHECK_EQ(vq_read(&c, 2, out, 16), 10);
	CHECK(!memcmp(out, "cdefghijkl", 10));
	CHECK_EQ(vq_write(&c, 1, in, 8), 7);
	CHECK(!memcmp(fake_ptr(&f, FD_BUF + 0x201), in, 2));
	CHECK(!memcmp(fake_ptr(&f, FD_BUF + 0x300), in + 2, 5));
	CHECK_EQ(fake_ptr(&f, FD_BUF + 0x200)[0], 0);
	virtq_push(&q, c.head, 7);
	CHECK_EQ(fake_used_idx(&f), 1);
	/* a one-entry table, then a direct chain on the same queue */
	fake_set_desc(&f, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	fake_set_table_desc(&f, TABLE, 0, FD_BUF, 4, 0, 0);
	fake_offer(&f, 0);
	fake_set_desc(&f, 1, FD_BUF, 2, 0, 0);
	fake_offer(&f, 1);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	CHECK_EQ(c.nr_segs, 1);
	CHECK_EQ(c.rd_len, 4);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	CHECK_EQ(c.rd_len, 2);
	fake_free(&f);
}

/* Direct descriptors followed by one indirect one are valid (§2.7.5.3.2: the device must handle
 * them); an indirect descriptor with NEXT is not. */
TEST(vq_indirect_mixed_with_direct)
{
	struct fake f;
	struct virtq q;
	struct vq_chain c;

	setup(&f, &q, 8, true, false);
	fake_set_desc(&f, 0, FD_BUF, 16, VIRTQ_DESC_F_NEXT, 5);
	fake_set_desc(&f, 5, TABLE, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	fake_set_table_desc(&f, TABLE, 0, FD_BUF + 0x100, 32, VIRTQ_DESC_F_NEXT, 1);
	fake_set_table_desc(&f, TABLE, 1, FD_BUF + 0x200, 1, VIRTQ_DESC_F_WRITE, 0);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	CHECK_EQ(c.nr_segs, 3);
	CHECK_EQ(c.rd_len, 48);
	CHECK_EQ(c.wr_len, 1);
	CHECK(c.seg[2].write);
	fake_free(&f);
	/* INDIRECT with NEXT: refused, wherever its next points */
	setup(&f, &q, 8, true, false);
	fake_set_desc(&f, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	fake_set_desc(&f, 1, FD_BUF, 16, 0, 0);
	fake_set_table_desc(&f, TABLE, 0, FD_BUF, 4, 0, 0);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_CONTAINS(q.err, "descriptor 0 is indirect and has NEXT");
	fake_free(&f);
}

TEST(vq_indirect_bad_tables_are_refused)
{
	struct fake f;
	struct virtq q;
	struct vq_chain c;
	static const struct {
		u64 addr;
		u32 len;
		const char *why;
	} bad[] = {
		{ TABLE, 0, "indirect table length 0x0 is not a non-zero multiple of 16" },
		{ TABLE, 24, "indirect table length 0x18 is not a non-zero multiple of 16" },
		{ TABLE, 15, "is not a non-zero multiple of 16" },
		{ 0x20000000, 64, "indirect table 0x20000000+0x40 is outside the VM's RAM" },
		{ FD_RAM_BASE + RAM_SIZE - 16, 32, "is outside the VM's RAM" },
		{ FD_RAM_BASE - 16, 32, "is outside the VM's RAM" },
		{ ~0ULL - 15, 32, "is outside the VM's RAM" },
		{ TABLE, 0xfffffff0, "is outside the VM's RAM" },
	};

	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		setup(&f, &q, 8, true, false);
		fake_set_desc(&f, 0, FD_BUF, 16, VIRTQ_DESC_F_NEXT, 1);
		fake_set_desc(&f, 1, bad[i].addr, bad[i].len, VIRTQ_DESC_F_INDIRECT, 0);
		fake_offer(&f, 0);
		CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
		CHECK_CONTAINS(q.err, "descriptor 1: ");
		CHECK_CONTAINS(q.err, bad[i].why);
		fake_free(&f);
	}
	/* not negotiated: refused as before */
	setup(&f, &q, 8, false, false);
	fake_set_desc(&f, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	fake_set_table_desc(&f, TABLE, 0, FD_BUF, 4, 0, 0);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_CONTAINS(q.err, "descriptor 0 is indirect (not negotiated)");
	fake_free(&f);
}

TEST(vq_indirect_table_contents_are_checked)
{
	struct fake f;
	struct virtq q;
	struct vq_chain c;

	/* an indirect descriptor inside a table: one level only */
	setup(&f, &q, 8, true, false);
	fake_set_desc(&f, 0, TABLE, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	fake_set_table_desc(&f, TABLE, 0, FD_BUF, 4, VIRTQ_DESC_F_NEXT, 1);
	fake_set_table_desc(&f, TABLE, 1, TABLE, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_CONTAINS(q.err, "indirect descriptor 1 points to another table (one level only)");
	fake_free(&f);
	/* a loop inside the table: 0 -> 1 -> 0 */
	setup(&f, &q, 8, true, false);
	fake_set_desc(&f, 0, TABLE, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	fake_set_table_desc(&f, TABLE, 0, FD_BUF, 4, VIRTQ_DESC_F_NEXT, 1);
	fake_set_table_desc(&f, TABLE, 1, FD_BUF, 4, VIRTQ_DESC_F_NEXT, 0);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_CONTAINS(q.err, "more than 2 descriptors in its indirect table (a loop?)");
	CHECK(c.nr_segs <= 2);
	fake_free(&f);
	/* next outside the table (though inside the queue's size and RAM) */
	setup(&f, &q, 8, true, false);
	fake_set_desc(&f, 0, TABLE, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	fake_set_table_desc(&f, TABLE, 0, FD_BUF, 4, VIRTQ_DESC_F_NEXT, 2);
	fake_set_table_desc(&f, TABLE, 2, FD_BUF, 4, 0, 0); /* past the table's end */
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_CONTAINS(q.err, "indirect descriptor 0: next 2 is not below the table size 2");
	fake_free(&f);
	/* a buffer in the table outside RAM, and one too long */
	setup(&f, &q, 8, true, false);
	fake_set_desc(&f, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	fake_set_table_desc(&f, TABLE, 0, FD_RAM_BASE + RAM_SIZE - 4, 8, 0, 0);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_CONTAINS(q.err, "indirect descriptor 0: buffer 0x400ffffc+0x8 is outside");
	fake_free(&f);
	setup(&f, &q, 8, true, false);
	fake_set_desc(&f, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	fake_set_table_desc(&f, TABLE, 0, FD_BUF, 0xffffffff, 0, 0);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_CONTAINS(q.err, "makes the chain longer than 16 MiB");
	fake_free(&f);
}

/* A chain may hold at most VIRTQ_MAX_SIZE buffers, direct and indirect together, whatever the
 * size of the table. */
TEST(vq_indirect_chain_length_is_bounded)
{
	struct fake f;
	struct virtq q;
	struct vq_chain c;
	const u32 n = VIRTQ_MAX_SIZE + 8; /* entries in the table */

	setup(&f, &q, 8, true, false);
	for (u32 i = 0; i < n; i++)
		fake_set_table_desc(&f, TABLE, i, FD_BUF, 1, i + 1 < n ? VIRTQ_DESC_F_NEXT : 0,
				    (u16)(i + 1));
	/* the whole table: too long */
	fake_set_desc(&f, 0, TABLE, n * 16, VIRTQ_DESC_F_INDIRECT, 0);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_CONTAINS(q.err, "the chain from head 0 has more than 128 descriptors");
	CHECK_EQ(c.nr_segs, VIRTQ_MAX_SIZE);
	fake_free(&f);
	/* exactly VIRTQ_MAX_SIZE: 3 direct + a table chain of 125 */
	setup(&f, &q, 8, true, false);
	for (u32 i = 0; i < 3; i++)
		fake_set_desc(&f, i, FD_BUF, 1, VIRTQ_DESC_F_NEXT, (u16)(i + 1));
	fake_set_desc(&f, 3, TABLE, n * 16, VIRTQ_DESC_F_INDIRECT, 0);
	for (u32 i = 0; i < n; i++)
		fake_set_table_desc(&f, TABLE, i, FD_BUF, 1,
				    i + 1 < VIRTQ_MAX_SIZE - 3 ? VIRTQ_DESC_F_NEXT : 0, (u16)(i + 1));
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	CHECK_EQ(c.nr_segs, VIRTQ_MAX_SIZE);
	CHECK_EQ(c.rd_len, VIRTQ_MAX_SIZE);
	/* one more in the table: refused */
	fake_set_table_desc(&f, TABLE, VIRTQ_MAX_SIZE - 4, FD_BUF, 1, VIRTQ_DESC_F_NEXT,
			    VIRTQ_MAX_SIZE - 3);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_CONTAINS(q.err, "more than 128 descriptors");
	fake_free(&f);
}

/* EVENT_IDX: an interrupt only when used->idx passes used_event, 16-bit wraparound included. */
TEST(vq_event_idx_interrupts_at_used_event)
{
	struct fake f;
	struct virtq q;
	struct vq_chain c;

	setup(&f, &q, 4, false, true);
	fake_set_desc(&f, 0, FD_BUF, 8, 0, 0);
	fake_avail_flags(&f, VIRTQ_AVAIL_F_NO_INTERRUPT); /* ignored with EVENT_IDX */
	fake_set_used_event(&f, 2); /* interrupt when entry 2 is used: used->idx 2 -> 3 */
	for (u32 i = 0; i < 4; i++) {
		fake_offer(&f, 0);
		CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
		virtq_push(&q, c.head, 0);
		CHECK_EQ(q.signal, i == 2);
		q.signal = false;
	}
	/* a used_event already passed: no interrupt until the index comes round again */
	fake_set_used_event(&f, 1);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	virtq_push(&q, c.head, 0);
	CHECK(!q.signal);
	fake_free(&f);

	/* across the wrap: used->idx 0xfffe, used_event 0xffff then 0 */
	setup(&f, &q, 4, false, true);
	q.last_avail = q.used_idx = 0xfffe;
	f.avail = 0xfffe;
	fake_set_desc(&f, 0, FD_BUF, 8, 0, 0);
	fake_set_used_event(&f, 0xffff);
	for (u32 i = 0; i < 3; i++)
		fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	virtq_push(&q, c.head, 0); /* 0xfffe -> 0xffff: not yet */
	CHECK(!q.signal);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	virtq_push(&q, c.head, 0); /* 0xffff -> 0: passes 0xffff */
	CHECK(q.signal);
	q.signal = false;
	fake_set_used_event(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	virtq_push(&q, c.head, 0); /* 0 -> 1: passes 0 */
	CHECK(q.signal);
	CHECK_EQ(fake_used_idx(&f), 1);
	fake_free(&f);

	/* the need-event rule itself */
	CHECK(virtq_need_event(5, 6, 5));
	CHECK(!virtq_need_event(6, 6, 5));
	CHECK(virtq_need_event(5, 9, 2)); /* several at once */
	CHECK(!virtq_need_event(1, 9, 2));
	CHECK(virtq_need_event(0xffff, 2, 0xfffd));
	CHECK(virtq_need_event(0, 2, 0xfffd));
	CHECK(!virtq_need_event(2, 2, 0xfffd));
	CHECK(!virtq_need_event(0xfffc, 2, 0xfffd));
}

/* Without EVENT_IDX, used_event means nothing and NO_INTERRUPT still rules; avail_event is
 * never written. */
TEST(vq_event_idx_not_negotiated_keeps_flags)
{
	struct fake f;
	struct virtq q;
	struct vq_chain c;

	setup(&f, &q, 4, false, false);
	fake_set_desc(&f, 0, FD_BUF, 8, 0, 0);
	fake_set_used_event(&f, 7);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	virtq_push(&q, c.head, 0);
	CHECK(q.signal);
	q.signal = false;
	fake_avail_flags(&f, VIRTQ_AVAIL_F_NO_INTERRUPT);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	virtq_push(&q, c.head, 0);
	CHECK(!q.signal);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_EMPTY);
	CHECK_EQ(fake_avail_event(&f), 0);
	fake_free(&f);
}

/* EVENT_IDX: the device writes avail_event = the next entry it will take, after each chain and
 * when it finds the ring empty. */
TEST(vq_event_idx_writes_avail_event)
{
	struct fake f;
	struct virtq q;
	struct vq_chain c;

	setup(&f, &q, 4, false, true);
	fake_set_desc(&f, 0, FD_BUF, 8, 0, 0);
	memset(fake_ptr(&f, FD_USED) + 4 + 8 * 4, 0xee, 2);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_EMPTY);
	CHECK_EQ(fake_avail_event(&f), 0);
	fake_offer(&f, 0);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	CHECK_EQ(fake_avail_event(&f), 1);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	CHECK_EQ(fake_avail_event(&f), 2);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_EMPTY);
	CHECK_EQ(fake_avail_event(&f), 2);
	/* and through the wrap */
	q.last_avail = 0xffff;
	f.avail = 0xffff;
	fake_set_avail_idx(&f, 0xffff);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_EMPTY);
	CHECK_EQ(fake_avail_event(&f), 0xffff);
	fake_offer(&f, 0);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_CHAIN);
	CHECK_EQ(fake_avail_event(&f), 0);
	/* a broken ring leaves it where it was */
	fake_offer(&f, 9);
	CHECK_EQ(virtq_pop(&q, &f.ram, &c), VQ_BROKEN);
	CHECK_EQ(fake_avail_event(&f), 0);
	fake_free(&f);
}
