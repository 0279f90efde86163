/* Tests for the stage-2 table builder (hyp/arch/aarch64/stage2_pt.c). Tables come from
 * aligned_alloc(), with "physical" address = host pointer, and every allocation is counted so
 * leaks and failures part-way through are visible. */
#include <stdlib.h>

#include <arch/stage2.h>
#include <bulkhead/errno.h>

#include "unit.h"

#define D_ADDR 0x0000FFFFFFFFF000ULL

struct tctx {
	int live;       /* tables allocated and not yet freed */
	int allocs;     /* successful allocations so far */
	int frees;
	int fail_after; /* allocations allowed before alloc returns NULL; -1: no limit */
};

static u64 *t_alloc(void *ctx, paddr_t *pa)
{
	struct tctx *c = ctx;
	void *p;

	if (c->fail_after >= 0 && c->allocs >= c->fail_after)
		return NULL;
	p = aligned_alloc(4096, 4096);
	if (!p)
		return NULL;
	memset(p, 0, 4096);
	c->allocs++;
	c->live++;
	*pa = (uintptr_t)p;
	return p;
}

static u64 *t_to_virt(void *ctx, paddr_t pa)
{
	(void)ctx;
	return (u64 *)(uintptr_t)pa;
}

static void t_free(void *ctx, paddr_t pa)
{
	struct tctx *c = ctx;

	c->live--;
	c->frees++;
	free((void *)(uintptr_t)pa);
}

struct fixture {
	struct tctx ctx;
	struct s2pt_ops ops;
	struct s2pt pt;
};

/* Sets up an empty table; fail_after limits allocations (root included), -1 for none. */
static int setup(struct fixture *f, int fail_after)
{
	f->ctx = (struct tctx){ .fail_after = fail_after };
	f->ops = (struct s2pt_ops){ t_alloc, t_to_virt, t_free, &f->ctx };
	return s2pt_init(&f->pt, &f->ops);
}

/* Tears down and checks that every table was freed exactly once. */
static void teardown(struct fixture *f)
{
	s2pt_destroy(&f->pt);
	CHECK_EQ(f->ctx.live, 0);
	CHECK_EQ(f->ctx.frees, f->ctx.allocs);
	CHECK_EQ(f->pt.tables, 0);
	CHECK(f->pt.root == NULL);
}

/* Checks that ipa translates to pa through a leaf at level lvl. */
#define CHECK_MAP(f, ipa, want_pa, want_lvl)                                                  \
	do {                                                                                  \
		paddr_t pa_ = 0xDEAD;                                                          \
		u32 lvl_ = 99;                                                                 \
		CHECK(s2pt_lookup(&(f)->pt, (ipa), &pa_, &lvl_));                              \
		CHECK_EQ(pa_, (want_pa));                                                      \
		CHECK_EQ(lvl_, (want_lvl));                                                    \
	} while (0)

#define CHECK_UNMAPPED(f, ipa)                                                                \
	do {                                                                                  \
		paddr_t pa_;                                                                   \
		u32 lvl_;                                                                      \
		CHECK(!s2pt_lookup(&(f)->pt, (ipa), &pa_, &lvl_));                             \
	} while (0)

/* The raw descriptor for ipa at level lvl (following table descriptors from the root). */
static u64 raw_entry(const struct s2pt *pt, u64 ipa, u32 lvl)
{
	const u64 *t = pt->root;

	for (u32 l = 1;; l++) {
		u64 e = t[(ipa >> (39 - 9 * l)) & 511];

		if (l == lvl)
			return e;
		t = (const u64 *)(uintptr_t)(e & D_ADDR);
	}
}

/* s2pt_init allocates exactly the root and counts it. */
TEST(s2_init)
{
	struct fixture f;

	CHECK_EQ(setup(&f, -1), E_OK);
	CHECK_EQ(f.pt.tables, 1);
	CHECK_EQ(f.ctx.live, 1);
	CHECK_EQ(f.pt.root_pa, (uintptr_t)f.pt.root);
	CHECK_UNMAPPED(&f, 0);
	CHECK_UNMAPPED(&f, 0x40000000);
	CHECK_UNMAPPED(&f, (1ULL << 39) - 1);
	teardown(&f);

	/* Root allocation failure. */
	CHECK_EQ(setup(&f, 0), E_NOMEM);
	CHECK_EQ(f.pt.tables, 0);
	CHECK(f.pt.root == NULL);
	CHECK_EQ(f.ctx.live, 0);
}

/* 16 MiB, 2 MiB-aligned on both sides: eight level-2 blocks in one level-2 table. */
TEST(s2_map_2m_blocks)
{
	struct fixture f;

	setup(&f, -1);
	CHECK_EQ(s2pt_map(&f.pt, 0x40000000, 0x80000000, MiB(16), S2_MEM_NORMAL), E_OK);
	CHECK_EQ(f.pt.tables, 2);
	CHECK_EQ(f.ctx.live, 2);
	CHECK_MAP(&f, 0x40000000, 0x80000000, 2);
	CHECK_MAP(&f, 0x40000FFF, 0x80000FFF, 2);
	CHECK_MAP(&f, 0x401FFFFF, 0x801FFFFF, 2);
	CHECK_MAP(&f, 0x40200000, 0x80200000, 2);
	CHECK_MAP(&f, 0x40ABC123, 0x80ABC123, 2);
	CHECK_MAP(&f, 0x40FFFFFF, 0x80FFFFFF, 2);
	CHECK_UNMAPPED(&f, 0x41000000);
	CHECK_UNMAPPED(&f, 0x3FFFFFFF);
	for (u64 off = 0; off < MiB(16); off += MiB(2))
		CHECK_EQ(raw_entry(&f.pt, 0x40000000 + off, 2) & 3, 1); /* block, not table */
	teardown(&f);
}

/* 1 GiB aligned on both sides: one level-1 block, no extra table; 1 GiB + 2 MiB adds one
 * level-2 table with a block. */
TEST(s2_map_1g_block)
{
	struct fixture f;

	setup(&f, -1);
	CHECK_EQ(s2pt_map(&f.pt, GiB(1), GiB(4), GiB(1), S2_MEM_NORMAL), E_OK);
	CHECK_EQ(f.pt.tables, 1);
	CHECK_EQ(f.ctx.live, 1);
	CHECK_MAP(&f, GiB(1), GiB(4), 1);
	CHECK_MAP(&f, GiB(1) + 0x12345678, GiB(4) + 0x12345678, 1);
	CHECK_MAP(&f, GiB(2) - 1, GiB(5) - 1, 1);
	CHECK_UNMAPPED(&f, GiB(2));
	CHECK_UNMAPPED(&f, GiB(1) - 1);

	CHECK_EQ(s2pt_map(&f.pt, GiB(8), GiB(16), GiB(1) + MiB(2), S2_MEM_NORMAL), E_OK);
	CHECK_EQ(f.pt.tables, 2);
	CHECK_MAP(&f, GiB(8) + 0x3FFFFFFF, GiB(17) - 1, 1);
	CHECK_MAP(&f, GiB(9), GiB(17), 2);
	CHECK_MAP(&f, GiB(9) + MiB(2) - 1, GiB(17) + MiB(2) - 1, 2);
	CHECK_UNMAPPED(&f, GiB(9) + MiB(2));
	teardown(&f);
}

/* Not 2 MiB aligned (the IPA, or only the PA): level-3 pages only. */
TEST(s2_map_4k_pages)
{
	struct fixture f;

	setup(&f, -1);
	CHECK_EQ(s2pt_map(&f.pt, 0x40001000, 0x80001000, KiB(64), S2_MEM_NORMAL), E_OK);
	CHECK_EQ(f.pt.tables, 3);
	for (u64 off = 0; off < KiB(64); off += KiB(4))
		CHECK_MAP(&f, 0x40001000 + off + 0x10, 0x80001000 + off + 0x10, 3);
	CHECK_UNMAPPED(&f, 0x40000FFF);
	CHECK_UNMAPPED(&f, 0x40011000);

	/* IPA 2 MiB aligned but PA not: a block is impossible, 512 pages instead. */
	CHECK_EQ(s2pt_map(&f.pt, 0x40200000, 0x90001000, MiB(2), S2_MEM_NORMAL), E_OK);
	CHECK_EQ(f.pt.tables, 4);
	for (u64 off = 0; off < MiB(2); off += KiB(4))
		CHECK_MAP(&f, 0x40200000 + off, 0x90001000 + off, 3);
	CHECK_UNMAPPED(&f, 0x40400000);
	teardown(&f);
}

/* Starts 8 KiB below a 2 MiB boundary and spans 4 MiB: 2 pages, one 2 MiB block, then 510
 * pages; every 4 KiB page translates to the right address at the right level. */
TEST(s2_map_mixed)
{
	struct fixture f;
	const u64 ipa = MiB(2) - KiB(8), pa = 0x80000000 + MiB(2) - KiB(8);

	setup(&f, -1);
	CHECK_EQ(s2pt_map(&f.pt, ipa, pa, MiB(4), S2_MEM_NORMAL), E_OK);
	/* root, the level-2 table for GiB 0, level-3 tables for [0, 2M) and [4M, 6M) */
	CHECK_EQ(f.pt.tables, 4);
	CHECK_EQ(f.ctx.live, 4);
	for (u64 off = 0; off < MiB(4); off += KiB(4)) {
		u64 a = ipa + off;
		u32 want = (a >= MiB(2) && a < MiB(4)) ? 2 : 3;

		CHECK_MAP(&f, a + 0x7FC, pa + off + 0x7FC, want);
	}
	CHECK_UNMAPPED(&f, ipa - 1);
	CHECK_UNMAPPED(&f, ipa + MiB(4));
	CHECK_UNMAPPED(&f, 0);
	teardown(&f);
}

/* Any of ipa, pa, size not 4 KiB aligned, or size 0: E_ALIGN and no table allocated. */
TEST(s2_map_align_errors)
{
	struct fixture f;

	setup(&f, -1);
	CHECK_EQ(s2pt_map(&f.pt, 0x40000800, 0x80000000, KiB(4), S2_MEM_NORMAL), E_ALIGN);
	CHECK_EQ(s2pt_map(&f.pt, 0x40000000, 0x80000001, KiB(4), S2_MEM_NORMAL), E_ALIGN);
	CHECK_EQ(s2pt_map(&f.pt, 0x40000000, 0x80000000, 0x1800, S2_MEM_NORMAL), E_ALIGN);
	CHECK_EQ(s2pt_map(&f.pt, 0x40000000, 0x80000000, 1, S2_MEM_NORMAL), E_ALIGN);
	CHECK_EQ(s2pt_map(&f.pt, 0x40000000, 0x80000000, 0, S2_MEM_NORMAL), E_ALIGN);
	CHECK_EQ(f.pt.tables, 1);
	CHECK_EQ(f.ctx.allocs, 1);
	CHECK_UNMAPPED(&f, 0x40000000);
	teardown(&f);
}

/* Beyond the 39-bit IPA space, wrapping IPA or PA, or a PA beyond 48 bits: E_RANGE. The
 * very last IPA page is fine. */
TEST(s2_map_range_errors)
{
	struct fixture f;
	const u64 top = 1ULL << 39;

	setup(&f, -1);
	CHECK_EQ(s2pt_map(&f.pt, top, 0x80000000, KiB(4), S2_MEM_NORMAL), E_RANGE);
	CHECK_EQ(s2pt_map(&f.pt, top - KiB(4), 0x80000000, KiB(8), S2_MEM_NORMAL), E_RANGE);
	CHECK_EQ(s2pt_map(&f.pt, 0, 0x80000000, top + KiB(4), S2_MEM_NORMAL), E_RANGE);
	CHECK_EQ(s2pt_map(&f.pt, 0xFFFFFFFFFFFFF000ULL, 0x80000000, KiB(8), S2_MEM_NORMAL),
		 E_RANGE);
	CHECK_EQ(s2pt_map(&f.pt, 0x40000000, (1ULL << 48) - KiB(4), KiB(8), S2_MEM_NORMAL),
		 E_RANGE);
	/* A PA that wraps past 2^64 must not slip through (its high bits would land in the
	 * descriptor's attribute bits). */
	CHECK_EQ(s2pt_map(&f.pt, 0x40000000, 0xFFFFFFFFFFFFF000ULL, KiB(8), S2_MEM_NORMAL),
		 E_RANGE);
	CHECK_EQ(s2pt_map(&f.pt, 0x40000000, 0xFFFFFFFFFFE00000ULL, MiB(2), S2_MEM_NORMAL),
		 E_RANGE);
	CHECK_EQ(f.pt.tables, 1);
	CHECK_EQ(f.ctx.allocs, 1);
	CHECK_UNMAPPED(&f, 0x40000000);

	CHECK_EQ(s2pt_map(&f.pt, top - KiB(4), (1ULL << 48) - KiB(4), KiB(4), S2_MEM_NORMAL),
		 E_OK);
	CHECK_MAP(&f, top - 1, (1ULL << 48) - 1, 3);
	CHECK_UNMAPPED(&f, top);
	CHECK_UNMAPPED(&f, ~0ULL);
	teardown(&f);
}

#define NPROBE 12
static const u64 probes[NPROBE] = {
	0x40000000, 0x40123000, 0x401FF000, 0x40200000, 0x403FF000, 0x40400000,
	0x4040F000, 0x40410000, 0x3FFFF000, 0x80000000, 0x3FE00000, 0,
};

struct snapshot {
	bool ok[NPROBE];
	paddr_t pa[NPROBE];
	u32 lvl[NPROBE];
	u32 tables;
	int allocs;
	u64 root[512];
};

static void snap(const struct fixture *f, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < NPROBE; i++)
		s->ok[i] = s2pt_lookup(&f->pt, probes[i], &s->pa[i], &s->lvl[i]);
	s->tables = f->pt.tables;
	s->allocs = f->ctx.allocs;
	memcpy(s->root, f->pt.root, sizeof(s->root));
}

/* Any overlap with an existing mapping (whole, partial, one page inside a block, a block
 * over pages) is E_OVERLAP with nothing changed; adjacent ranges are fine. */
TEST(s2_map_overlap)
{
	struct fixture f;
	struct snapshot before, after;

	setup(&f, -1);
	/* A 2 MiB block at 0x40000000 and 16 pages at 0x40400000. */
	CHECK_EQ(s2pt_map(&f.pt, 0x40000000, 0x80000000, MiB(2), S2_MEM_NORMAL), E_OK);
	CHECK_EQ(s2pt_map(&f.pt, 0x40400000, 0x90000000, KiB(64), S2_MEM_NORMAL), E_OK);
	CHECK_EQ(f.pt.tables, 3);
	snap(&f, &before);

	static const struct {
		u64 ipa, size;
	} bad[] = {
		{ 0x40000000, MiB(2) },      /* the same block again */
		{ 0x3FE00000, MiB(4) },      /* covers the block and what is below */
		{ 0x3FF00000, MiB(2) },      /* partially into the block */
		{ 0x40123000, KiB(4) },      /* one page inside the block */
		{ 0x401FF000, KiB(8) },      /* last page of the block and the next */
		{ 0x4040F000, KiB(8) },      /* last page of the pages and the next */
		{ 0x403FF000, KiB(8) },      /* just before the pages and their first */
		{ 0x40405000, KiB(4) },      /* one page inside the pages */
		{ 0x40400000, MiB(2) },      /* a would-be block over the pages */
		{ 0x40000000, GiB(1) },      /* a would-be 1 GiB block over everything */
		{ 0, GiB(4) },               /* four would-be 1 GiB blocks */
	};
	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_EQ(s2pt_map(&f.pt, bad[i].ipa, 0xA0000000, bad[i].size, S2_MEM_NORMAL),
			 E_OVERLAP);
		snap(&f, &after);
		CHECK(memcmp(&before, &after, sizeof(before)) == 0);
	}

	/* Adjacent on every side: fine (the new 2 MiB block ends where the pages begin). */
	CHECK_EQ(s2pt_map(&f.pt, 0x3FFFF000, 0xA0000000, KiB(4), S2_MEM_NORMAL), E_OK);
	CHECK_EQ(s2pt_map(&f.pt, 0x40200000, 0xA0200000, MiB(2), S2_MEM_NORMAL), E_OK);
	CHECK_EQ(s2pt_map(&f.pt, 0x40410000, 0xA0410000, KiB(4), S2_MEM_NORMAL), E_OK);
	CHECK_MAP(&f, 0x3FFFF000, 0xA0000000, 3);
	CHECK_MAP(&f, 0x40000000, 0x80000000, 2);
	CHECK_MAP(&f, 0x40200000, 0xA0200000, 2);
	CHECK_MAP(&f, 0x403FF000, 0xA03FF000, 2);
	CHECK_MAP(&f, 0x40400000, 0x90000000, 3);
	CHECK_MAP(&f, 0x4040F000, 0x9000F000, 3);
	CHECK_MAP(&f, 0x40410000, 0xA0410000, 3);
	teardown(&f);
}

/* Addresses never mapped fail, including neighbours in the same level-3 table and other
 * level-1 slots; the output arguments are not required to be touched. */
TEST(s2_lookup_unmapped)
{
	struct fixture f;

	setup(&f, -1);
	CHECK_EQ(s2pt_map(&f.pt, 0x40000000, 0x80000000, KiB(4), S2_MEM_NORMAL), E_OK);
	CHECK_MAP(&f, 0x40000000, 0x80000000, 3);
	CHECK_UNMAPPED(&f, 0x40001000); /* same level-3 table */
	CHECK_UNMAPPED(&f, 0x40200000); /* same level-2 table */
	CHECK_UNMAPPED(&f, 0x3FFFF000); /* another level-1 slot */
	CHECK_UNMAPPED(&f, 0x80000000);
	CHECK_UNMAPPED(&f, 0);
	CHECK_UNMAPPED(&f, 1ULL << 39);
	CHECK_UNMAPPED(&f, (1ULL << 39) + 0x40000000); /* would alias slot 1 if not checked */
	teardown(&f);
}

/* Exact descriptors: valid/block/page/table type bits, AF, S2AP RW, inner shareable, MemAttr
 * normal write-back (0xF) or Device-nGnRE (0x1), XN clear, output address in place. */
TEST(s2_descriptor_bits)
{
	struct fixture f;
	u64 e;

	setup(&f, -1);
	CHECK_EQ(s2pt_map(&f.pt, 0x40000000, 0x80000000, MiB(2), S2_MEM_NORMAL), E_OK);
	CHECK_EQ(s2pt_map(&f.pt, 0x40200000, 0x09000000, MiB(2), S2_MEM_DEVICE), E_OK);
	CHECK_EQ(s2pt_map(&f.pt, 0x40400000, 0x0A003000, KiB(4), S2_MEM_NORMAL), E_OK);
	CHECK_EQ(s2pt_map(&f.pt, 0x40401000, 0x0A004000, KiB(4), S2_MEM_DEVICE), E_OK);
	CHECK_EQ(s2pt_map(&f.pt, GiB(2), GiB(3), GiB(1), S2_MEM_NORMAL), E_OK);

	/* Normal 2 MiB block. */
	e = raw_entry(&f.pt, 0x40000000, 2);
	CHECK_EQ(e & 1, 1);               /* valid */
	CHECK_EQ((e >> 1) & 1, 0);        /* block */
	CHECK_EQ((e >> 2) & 0xF, 0xF);    /* MemAttr: normal, outer and inner write-back */
	CHECK_EQ((e >> 6) & 3, 3);        /* S2AP: read/write */
	CHECK_EQ((e >> 8) & 3, 3);        /* SH: inner shareable */
	CHECK_EQ((e >> 10) & 1, 1);       /* AF */
	CHECK_EQ((e >> 54) & 1, 0);       /* XN clear */
	CHECK_EQ(e & 0x0000FFFFFFE00000ULL, 0x80000000);
	CHECK_EQ(e, 0x80000000ULL | 0x7FD);

	/* Device 2 MiB block: only MemAttr differs. */
	e = raw_entry(&f.pt, 0x40200000, 2);
	CHECK_EQ((e >> 2) & 0xF, 0x1);
	CHECK_EQ(e, 0x09000000ULL | 0x7C5);

	/* Level-3 pages: bits 1:0 = 3 (page). */
	e = raw_entry(&f.pt, 0x40400000, 3);
	CHECK_EQ(e, 0x0A003000ULL | 0x7FF);
	e = raw_entry(&f.pt, 0x40401000, 3);
	CHECK_EQ(e, 0x0A004000ULL | 0x7C7);

	/* Level-1 block. */
	e = raw_entry(&f.pt, GiB(2), 1);
	CHECK_EQ(e, GiB(3) | 0x7FD);

	/* Table descriptors carry only the address and bits 1:0 = 3. */
	e = raw_entry(&f.pt, 0x40000000, 1);
	CHECK_EQ(e & 3, 3);
	CHECK_EQ(e & ~D_ADDR, 3);
	e = raw_entry(&f.pt, 0x40400000, 2);
	CHECK_EQ(e & ~D_ADDR, 3);
	teardown(&f);
}

/* Running out of tables part-way through is E_NOMEM, the table count stays exact and
 * destroy still frees everything. With enough tables the same map succeeds. */
TEST(s2_map_nomem)
{
	/* The mixed mapping needs the root plus 3 tables (level 2, two level 3). */
	for (int limit = 1; limit <= 4; limit++) {
		struct fixture f;
		int r;

		CHECK_EQ(setup(&f, limit), E_OK);
		r = s2pt_map(&f.pt, MiB(2) - KiB(8), 0x80000000 + MiB(2) - KiB(8), MiB(4),
			     S2_MEM_NORMAL);
		CHECK_EQ(r, limit < 4 ? E_NOMEM : E_OK);
		CHECK_EQ(f.ctx.allocs, limit);
		CHECK_EQ(f.pt.tables, (u32)f.ctx.live);
		if (limit == 1)
			CHECK_UNMAPPED(&f, MiB(2)); /* nothing could be built */
		if (limit == 4)
			CHECK_MAP(&f, MiB(4) + KiB(4), 0x80000000 + MiB(4) + KiB(4), 3);
		teardown(&f);
	}
}

/* A table left empty by an E_NOMEM is reused, not overwritten by a block (which would leak
 * it): a later map still translates correctly and destroy frees every table. */
TEST(s2_map_after_nomem_reuses_tables)
{
	struct fixture f;

	CHECK_EQ(setup(&f, 2), E_OK);
	/* Needs a level-2 and a level-3 table in slot 1: the level-3 one fails. */
	CHECK_EQ(s2pt_map(&f.pt, GiB(1), GiB(4) + KiB(4), KiB(4), S2_MEM_NORMAL), E_NOMEM);
	CHECK_EQ(f.pt.tables, 2);
	CHECK_UNMAPPED(&f, GiB(1));
	f.ctx.fail_after = -1;
	/* The whole GiB is free again. */
	CHECK_EQ(s2pt_map(&f.pt, GiB(1), GiB(4), GiB(1), S2_MEM_NORMAL), E_OK);
	CHECK_EQ(f.pt.tables, (u32)f.ctx.live);
	CHECK_EQ(f.pt.tables, 2);
	CHECK_MAP(&f, GiB(1), GiB(4), 2);
	CHECK_MAP(&f, GiB(2) - 1, GiB(5) - 1, 2);
	teardown(&f);
}

/* destroy frees every table of a sparse multi-level tree exactly once. */
TEST(s2_destroy_frees_all)
{
	struct fixture f;

	setup(&f, -1);
	CHECK_EQ(s2pt_map(&f.pt, 0x1000, 0x80001000, KiB(8), S2_MEM_NORMAL), E_OK);
	CHECK_EQ(s2pt_map(&f.pt, 0x40200000, 0x80200000, MiB(2), S2_MEM_NORMAL), E_OK);
	CHECK_EQ(s2pt_map(&f.pt, GiB(3), GiB(3), GiB(1), S2_MEM_NORMAL), E_OK);
	CHECK_EQ(s2pt_map(&f.pt, GiB(511) + MiB(100) + KiB(4), 0x1000, KiB(4), S2_MEM_DEVICE),
		 E_OK);
	CHECK_EQ(s2pt_map(&f.pt, GiB(200), 0x80000000, MiB(6) + KiB(4), S2_MEM_NORMAL), E_OK);
	/* root; GiB 0: L2 + L3; GiB 1: L2; GiB 511: L2 + L3; GiB 200: L2 + L3 */
	CHECK_EQ(f.pt.tables, 8);
	CHECK_EQ(f.ctx.live, 8);
	CHECK_MAP(&f, GiB(511) + MiB(100) + KiB(4), 0x1000, 3);
	CHECK_MAP(&f, GiB(200) + MiB(6), 0x80000000 + MiB(6), 3);
	teardown(&f);
	CHECK_EQ(f.ctx.frees, 8);
}
