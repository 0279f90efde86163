/* Tests for the physical page allocator (hyp/core/mem/palloc.c). palloc only manipulates its
 * bitmap, so a fake base address is used and no memory behind it is ever touched. */
#include <stdlib.h>

#include <bulkhead/palloc.h>

#include "unit.h"

#define BASE 0x40000000ULL
#define PG(i) (BASE + (u64)(i) * PAGE_SIZE)

static bool page_used(const struct palloc *pa, u64 i)
{
	return (pa->bitmap[i / 64] >> (i % 64)) & 1;
}

/* Bitmask of the pages in use among the first 64 (for allocators of <= 64 pages). */
static u64 used_mask(const struct palloc *pa)
{
	u64 m = 0;

	for (u64 i = 0; i < pa->npages && i < 64; i++)
		if (page_used(pa, i))
			m |= 1ULL << i;
	return m;
}

/* Bits lo..hi inclusive. */
static u64 bits(u32 lo, u32 hi)
{
	return (hi == 63 ? ~0ULL : (1ULL << (hi + 1)) - 1) & ~((1ULL << lo) - 1);
}

/* init marks every page in use, touches exactly ceil(npages / 64) bitmap words and refuses
 * to allocate anything. */
TEST(palloc_init_all_in_use)
{
	struct palloc pa;
	u64 bm[3] = { 0, 0, 0x5A5A5A5A5A5A5A5AULL };

	palloc_init(&pa, BASE, 100, bm);
	CHECK_EQ(pa.base, BASE);
	CHECK_EQ(pa.npages, 100);
	CHECK_EQ(pa.nfree, 0);
	CHECK_EQ(bm[0], ~0ULL);
	CHECK_EQ(bm[1], ~0ULL);
	CHECK_EQ(bm[2], 0x5A5A5A5A5A5A5A5AULL); /* beyond the bitmap: untouched */
	for (u64 i = 0; i < 100; i++)
		CHECK(page_used(&pa, i));
	CHECK_EQ(palloc_alloc(&pa, 1, PAGE_SIZE), 0);
	CHECK_EQ(pa.nfree, 0);
}

/* release rounds inward: only whole pages inside the range are freed, and the parts below or
 * above the covered range are ignored. */
TEST(palloc_release_rounds_inward)
{
	struct palloc pa;
	u64 bm[1];

	palloc_init(&pa, BASE, 64, bm);

	/* [BASE+0x800, BASE+0x3800): whole pages 1 and 2 only. */
	palloc_release(&pa, BASE + 0x800, 0x3000);
	CHECK_EQ(pa.nfree, 2);
	CHECK_EQ(used_mask(&pa), ~bits(1, 2));

	/* Less than a page, unaligned at both ends: nothing. */
	palloc_release(&pa, PG(5) + 1, 0xFFF);
	palloc_release(&pa, PG(6) + 0x10, 0x800);
	CHECK_EQ(pa.nfree, 2);

	/* Exactly one page. */
	palloc_release(&pa, PG(16), PAGE_SIZE);
	CHECK_EQ(pa.nfree, 3);
	CHECK_EQ(used_mask(&pa), ~(bits(1, 2) | bits(16, 16)));

	/* Starts below the base: pages 0 and 1 (1 already free, not counted twice). */
	palloc_release(&pa, BASE - 0x3000, 0x5000);
	CHECK_EQ(pa.nfree, 4);
	CHECK_EQ(used_mask(&pa), ~(bits(0, 2) | bits(16, 16)));

	/* Runs past the top: only page 63. */
	palloc_release(&pa, PG(63), 0x10000);
	CHECK_EQ(pa.nfree, 5);
	CHECK(!page_used(&pa, 63));

	/* Entirely below, entirely above, size 0: nothing. */
	palloc_release(&pa, 0, PAGE_SIZE);
	palloc_release(&pa, BASE - PAGE_SIZE, PAGE_SIZE);
	palloc_release(&pa, PG(64), PAGE_SIZE);
	palloc_release(&pa, PG(30), 0);
	CHECK_EQ(pa.nfree, 5);

	/* A size that wraps past 2^64 stops at the top of the covered range: pages 60..62 new. */
	palloc_release(&pa, PG(60), ~0ULL);
	CHECK_EQ(pa.nfree, 8);
	CHECK_EQ(used_mask(&pa), ~(bits(0, 2) | bits(16, 16) | bits(60, 63)));

	/* A range in the last page of the address space has no whole page once rounded up:
	 * it must not free anything (rounding up must not wrap to 0). */
	palloc_release(&pa, 0xFFFFFFFFFFFFF800ULL, 0x800);
	palloc_release(&pa, 0xFFFFFFFFFFFFF001ULL, 0x10);
	CHECK_EQ(pa.nfree, 8);
	CHECK_EQ(used_mask(&pa), ~(bits(0, 2) | bits(16, 16) | bits(60, 63)));
}

/* reserve rounds outward: every page the range touches is marked in use, parts outside the
 * covered range are ignored, and re-reserving is idempotent. */
TEST(palloc_reserve_rounds_outward)
{
	struct palloc pa;
	u64 bm[1];

	palloc_init(&pa, BASE, 64, bm);
	palloc_release(&pa, BASE, 64 * PAGE_SIZE);
	CHECK_EQ(pa.nfree, 64);
	CHECK_EQ(bm[0], 0);

	/* [BASE+0x1800, BASE+0x2800) touches pages 1 and 2. */
	palloc_reserve(&pa, BASE + 0x1800, 0x1000);
	CHECK_EQ(pa.nfree, 62);
	CHECK_EQ(used_mask(&pa), bits(1, 2));

	/* One byte reserves its whole page. */
	palloc_reserve(&pa, PG(5) + 0x123, 1);
	CHECK_EQ(pa.nfree, 61);
	CHECK_EQ(used_mask(&pa), bits(1, 2) | bits(5, 5));

	/* Starts below the base: only page 0 is covered. */
	palloc_reserve(&pa, BASE - 0x1000, 0x1800);
	CHECK_EQ(pa.nfree, 60);
	CHECK_EQ(used_mask(&pa), bits(0, 2) | bits(5, 5));

	/* Again: no change. */
	palloc_reserve(&pa, PG(1), PAGE_SIZE);
	CHECK_EQ(pa.nfree, 60);

	/* Entirely outside, and an empty range: nothing. */
	palloc_reserve(&pa, PG(64), PAGE_SIZE);
	palloc_reserve(&pa, 0, BASE);
	palloc_reserve(&pa, PG(7) + 0x800, 0);
	palloc_reserve(&pa, PG(8), 0);
	CHECK_EQ(pa.nfree, 60);
	CHECK_EQ(used_mask(&pa), bits(0, 2) | bits(5, 5));

	/* Runs past the top: pages 61..63. */
	palloc_reserve(&pa, PG(61) + 0x10, 0x100000);
	CHECK_EQ(pa.nfree, 57);
	CHECK_EQ(used_mask(&pa), bits(0, 2) | bits(5, 5) | bits(61, 63));

	/* A size that wraps past 2^64 (e.g. end < start from a bogus DTB) reserves up to the top
	 * of the covered range, not nothing: rounding the end up must not wrap to 0. */
	palloc_reserve(&pa, PG(50), ~0ULL);
	CHECK_EQ(pa.nfree, 46);
	CHECK_EQ(used_mask(&pa), bits(0, 2) | bits(5, 5) | bits(50, 63));
	palloc_reserve(&pa, PG(40) + 0x800, 0ULL - (PG(40) + 0x800) - 0x10);
	CHECK_EQ(pa.nfree, 36);
	CHECK_EQ(used_mask(&pa), bits(0, 2) | bits(5, 5) | bits(40, 63));
}

/* First fit: allocations come from the lowest free run, back to back. */
TEST(palloc_alloc_first_fit)
{
	struct palloc pa;
	u64 bm[1];

	palloc_init(&pa, BASE, 64, bm);
	palloc_release(&pa, BASE, 64 * PAGE_SIZE);

	CHECK_EQ(palloc_alloc(&pa, 1, PAGE_SIZE), PG(0));
	CHECK_EQ(pa.nfree, 63);
	CHECK_EQ(palloc_alloc(&pa, 1, PAGE_SIZE), PG(1));
	CHECK_EQ(pa.nfree, 62);
	CHECK_EQ(palloc_alloc(&pa, 3, PAGE_SIZE), PG(2));
	CHECK_EQ(pa.nfree, 59);
	CHECK_EQ(used_mask(&pa), bits(0, 4));
	/* 8 KiB alignment: page 5 is odd, so the run starts at page 6. */
	CHECK_EQ(palloc_alloc(&pa, 2, 2 * PAGE_SIZE), PG(6));
	CHECK_EQ(pa.nfree, 57);
	CHECK_EQ(used_mask(&pa), bits(0, 4) | bits(6, 7));
	/* The hole left at page 5 is still first fit for a single page. */
	CHECK_EQ(palloc_alloc(&pa, 1, PAGE_SIZE), PG(5));
	CHECK_EQ(pa.nfree, 56);
	CHECK_EQ(used_mask(&pa), bits(0, 7));
}

/* Alignment is of the address, not of the page index: with a base 1 MiB past a 2 MiB
 * boundary, 2 MiB runs start at the 2 MiB-aligned addresses inside the range. */
TEST(palloc_alloc_aligned_runs_unaligned_base)
{
	struct palloc pa;
	u64 bm[2048 / 64];
	const u64 base = 0x40100000; /* covers [0x40100000, 0x40900000) */

	palloc_init(&pa, base, 2048, bm);
	palloc_release(&pa, base, 2048 * PAGE_SIZE);
	CHECK_EQ(pa.nfree, 2048);

	CHECK_EQ(palloc_alloc(&pa, 512, MiB(2)), 0x40200000);
	CHECK_EQ(pa.nfree, 1536);
	CHECK_EQ(palloc_alloc(&pa, 512, MiB(2)), 0x40400000);
	CHECK_EQ(palloc_alloc(&pa, 512, MiB(2)), 0x40600000);
	CHECK_EQ(pa.nfree, 512);
	/* 0x40800000 has only 1 MiB left before the top; the 1 MiB below 0x40200000 is free but
	 * not aligned: no 2 MiB run exists although 512 pages are free. */
	CHECK_EQ(palloc_alloc(&pa, 512, MiB(2)), 0);
	CHECK_EQ(pa.nfree, 512);
	CHECK_EQ(palloc_alloc(&pa, 1, MiB(2)), 0x40800000);
	CHECK_EQ(pa.nfree, 511);
	/* 1 MiB alignment: 0x40100000 (the base) is aligned and free. */
	CHECK_EQ(palloc_alloc(&pa, 1, MiB(1)), 0x40100000);
	CHECK_EQ(palloc_alloc(&pa, 255, PAGE_SIZE), 0x40101000);
	CHECK_EQ(pa.nfree, 255);
	/* Left: [0x40801000, 0x40900000); its first 64 KiB-aligned address is 0x40810000. */
	CHECK_EQ(palloc_alloc(&pa, 16, KiB(64)), 0x40810000);
	CHECK_EQ(pa.nfree, 239);
	CHECK_EQ(palloc_alloc(&pa, 15, PAGE_SIZE), 0x40801000);
	CHECK_EQ(pa.nfree, 224);
	CHECK(!page_used(&pa, (0x40820000 - base) / PAGE_SIZE));
	CHECK(page_used(&pa, (0x4081F000 - base) / PAGE_SIZE));
}

/* A contiguous run never spans a reserved page; aligned searches skip to the next aligned
 * page past the obstacle without losing later candidates. */
TEST(palloc_alloc_skips_reserved_holes)
{
	struct palloc pa;
	u64 bm[1];

	palloc_init(&pa, BASE, 64, bm);
	palloc_release(&pa, BASE, 64 * PAGE_SIZE);
	palloc_reserve(&pa, PG(2), PAGE_SIZE);
	palloc_reserve(&pa, PG(5), PAGE_SIZE);
	CHECK_EQ(pa.nfree, 62);

	/* Free runs: 0-1, 3-4, 6-63. */
	CHECK_EQ(palloc_alloc(&pa, 3, PAGE_SIZE), PG(6));
	CHECK_EQ(pa.nfree, 59);
	CHECK_EQ(palloc_alloc(&pa, 2, PAGE_SIZE), PG(0));
	CHECK_EQ(palloc_alloc(&pa, 2, PAGE_SIZE), PG(3));
	CHECK_EQ(palloc_alloc(&pa, 1, PAGE_SIZE), PG(9));
	CHECK_EQ(pa.nfree, 54);
	CHECK_EQ(used_mask(&pa), bits(0, 9));
	/* 16 KiB aligned runs of 4: index 8 is in use, 12 is the next candidate. */
	CHECK_EQ(palloc_alloc(&pa, 4, KiB(16)), PG(12));
	CHECK_EQ(pa.nfree, 50);
	CHECK(!page_used(&pa, 10));
	CHECK(!page_used(&pa, 11));
	/* A hole in the middle of the next aligned candidate (page 17) pushes it to 20. */
	palloc_reserve(&pa, PG(17), PAGE_SIZE);
	CHECK_EQ(palloc_alloc(&pa, 4, KiB(16)), PG(20));
	CHECK_EQ(pa.nfree, 45);
	CHECK_EQ(used_mask(&pa), bits(0, 9) | bits(12, 15) | bits(17, 17) | bits(20, 23));
}

/* Exhaustion returns 0 and changes nothing, including when enough pages are free but not
 * contiguous, and for absurd sizes. */
TEST(palloc_alloc_exhaustion)
{
	struct palloc pa;
	u64 bm[1];

	palloc_init(&pa, BASE, 16, bm);
	palloc_release(&pa, BASE, 16 * PAGE_SIZE);

	CHECK_EQ(palloc_alloc(&pa, 17, PAGE_SIZE), 0);
	CHECK_EQ(palloc_alloc(&pa, ~0ULL, PAGE_SIZE), 0);
	CHECK_EQ(palloc_alloc(&pa, 0, PAGE_SIZE), 0);
	CHECK_EQ(pa.nfree, 16);
	CHECK_EQ(palloc_alloc(&pa, 16, PAGE_SIZE), PG(0));
	CHECK_EQ(pa.nfree, 0);
	CHECK_EQ(palloc_alloc(&pa, 1, PAGE_SIZE), 0);
	CHECK_EQ(pa.nfree, 0);
	CHECK(palloc_free(&pa, PG(0), 16));
	CHECK_EQ(pa.nfree, 16);

	/* Reserve every odd page: 8 free pages, but no two contiguous. */
	for (int i = 1; i < 16; i += 2)
		palloc_reserve(&pa, PG(i), PAGE_SIZE);
	CHECK_EQ(pa.nfree, 8);
	CHECK_EQ(palloc_alloc(&pa, 2, PAGE_SIZE), 0);
	CHECK_EQ(pa.nfree, 8);
	CHECK_EQ(used_mask(&pa), 0xAAAA);
	/* Alignment larger than the whole range, base not aligned to it: nothing. */
	CHECK_EQ(palloc_alloc(&pa, 1, GiB(2)), 0);
	CHECK_EQ(palloc_alloc(&pa, 1, 1ULL << 63), 0);
	CHECK_EQ(pa.nfree, 8);
	CHECK_EQ(used_mask(&pa), 0xAAAA);
}

/* Every bad free returns false and leaves the bitmap and nfree exactly as they were. */
TEST(palloc_free_errors_change_nothing)
{
	struct palloc pa;
	u64 bm[1], saved_bm;
	u64 saved_nfree;

	palloc_init(&pa, BASE, 32, bm);
	palloc_release(&pa, BASE, 32 * PAGE_SIZE);
	CHECK_EQ(palloc_alloc(&pa, 4, PAGE_SIZE), PG(0));
	palloc_reserve(&pa, PG(31), PAGE_SIZE); /* in use, so only the range check can fail */
	CHECK_EQ(pa.nfree, 27);

	saved_bm = bm[0];
	saved_nfree = pa.nfree;
#define BAD_FREE(addr, n)                                                                    \
	do {                                                                                  \
		CHECK(!palloc_free(&pa, (addr), (n)));                                         \
		CHECK_EQ(bm[0], saved_bm);                                                     \
		CHECK_EQ(pa.nfree, saved_nfree);                                               \
	} while (0)

	BAD_FREE(PG(5), 1);                 /* never allocated */
	BAD_FREE(PG(3), 2);                 /* runs into a free page: page 3 must stay in use */
	BAD_FREE(PG(0), 0);                 /* empty */
	BAD_FREE(BASE - PAGE_SIZE, 1);      /* below */
	BAD_FREE(BASE - PAGE_SIZE, 2);      /* starts below, ends inside */
	BAD_FREE(PG(32), 1);                /* just above */
	BAD_FREE(PG(31), 2);                /* straddles the top */
	BAD_FREE(PG(31), ~0ULL);            /* npages overflow */
	BAD_FREE(PG(0) + 0x800, 1);         /* not page aligned */
	BAD_FREE(0, 1);
	BAD_FREE(~0ULL & ~(PAGE_SIZE - 1), 1);

	/* Double free: the first succeeds, the second changes nothing. */
	CHECK(palloc_free(&pa, PG(0), 4));
	CHECK_EQ(pa.nfree, 31);
	saved_bm = bm[0];
	saved_nfree = pa.nfree;
	BAD_FREE(PG(0), 4);
	BAD_FREE(PG(3), 1);
	CHECK_EQ(bm[0] & 0xFFFFFFFF, bits(31, 31)); /* bits 32..63 are past npages */
#undef BAD_FREE
}

/* Freed memory is reused: pages freed individually or as a range become first fit again. */
TEST(palloc_alloc_after_free_reuses)
{
	struct palloc pa;
	u64 bm[1];

	palloc_init(&pa, BASE, 16, bm);
	palloc_release(&pa, BASE, 16 * PAGE_SIZE);
	for (int i = 0; i < 16; i++)
		CHECK_EQ(palloc_alloc(&pa, 1, PAGE_SIZE), PG(i));
	CHECK_EQ(pa.nfree, 0);

	CHECK(palloc_free(&pa, PG(7), 1));
	CHECK_EQ(pa.nfree, 1);
	CHECK_EQ(palloc_alloc(&pa, 1, PAGE_SIZE), PG(7));
	CHECK_EQ(pa.nfree, 0);

	/* Pages allocated one by one can be freed as one range. */
	CHECK(palloc_free(&pa, PG(3), 3));
	CHECK_EQ(pa.nfree, 3);
	CHECK_EQ(palloc_alloc(&pa, 4, PAGE_SIZE), 0);
	CHECK_EQ(palloc_alloc(&pa, 3, PAGE_SIZE), PG(3));
	CHECK_EQ(pa.nfree, 0);
	CHECK_EQ(bm[0] & 0xFFFF, 0xFFFF);
}

/* align must be a power of two >= 4096; anything else fails without side effects. */
TEST(palloc_alloc_bad_align)
{
	struct palloc pa;
	u64 bm[1];

	palloc_init(&pa, BASE, 64, bm);
	palloc_release(&pa, BASE, 64 * PAGE_SIZE);

	CHECK_EQ(palloc_alloc(&pa, 1, 0), 0);
	CHECK_EQ(palloc_alloc(&pa, 1, 1), 0);
	CHECK_EQ(palloc_alloc(&pa, 1, 2048), 0);
	CHECK_EQ(palloc_alloc(&pa, 1, 4095), 0);
	CHECK_EQ(palloc_alloc(&pa, 1, 3 * PAGE_SIZE), 0);
	CHECK_EQ(palloc_alloc(&pa, 1, 6000), 0);
	CHECK_EQ(palloc_alloc(&pa, 1, PAGE_SIZE + 1), 0);
	CHECK_EQ(pa.nfree, 64);
	CHECK_EQ(bm[0], 0);
	CHECK_EQ(palloc_alloc(&pa, 1, 2 * PAGE_SIZE), PG(0));
	CHECK_EQ(palloc_alloc(&pa, 1, PAGE_SIZE), PG(1));
	CHECK_EQ(pa.nfree, 62);
}

/* Reference model: an array of bools and the obvious first-fit search. */
#define RND_PAGES 300
#define RND_BASE (BASE + 0x3000) /* not aligned to anything above 4 KiB */

static bool model[RND_PAGES];

static u64 rnd_state = 0x9E3779B97F4A7C15ULL;

static u64 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static paddr_t model_alloc(u64 n, u64 align)
{
	for (u64 i = 0; i + n <= RND_PAGES; i++) {
		u64 j;

		if ((RND_BASE + i * PAGE_SIZE) % align)
			continue;
		for (j = 0; j < n && !model[i + j]; j++)
			;
		if (j == n) {
			for (j = 0; j < n; j++)
				model[i + j] = true;
			return RND_BASE + i * PAGE_SIZE;
		}
	}
	return 0;
}

static bool model_free(paddr_t addr, u64 n)
{
	if (!n || addr < RND_BASE || (addr - RND_BASE) % PAGE_SIZE)
		return false;
	u64 first = (addr - RND_BASE) / PAGE_SIZE;
	if (first >= RND_PAGES || n > RND_PAGES - first)
		return false;
	for (u64 i = first; i < first + n; i++)
		if (!model[i])
			return false;
	for (u64 i = first; i < first + n; i++)
		model[i] = false;
	return true;
}

/* A few thousand random allocs and frees (fixed seed) give exactly the model's results, and
 * the bitmap and nfree always match it. */
TEST(palloc_random_vs_model)
{
	struct palloc pa;
	u64 bm[(RND_PAGES + 63) / 64];
	static struct {
		paddr_t addr;
		u64 n;
	} live[5000]; /* at most one entry per op */
	u32 nlive = 0;
	u32 allocs_ok = 0, frees_ok = 0, mismatches = 0;

	palloc_init(&pa, RND_BASE, RND_PAGES, bm);
	palloc_release(&pa, RND_BASE, RND_PAGES * PAGE_SIZE);
	for (int i = 0; i < RND_PAGES; i++)
		model[i] = false;
	/* A few permanent holes. */
	for (int k = 0; k < 6; k++) {
		u64 i = rnd() % RND_PAGES;

		palloc_reserve(&pa, RND_BASE + i * PAGE_SIZE, PAGE_SIZE);
		model[i] = true;
	}

	for (int op = 0; op < 5000 && !mismatches; op++) {
		u64 r = rnd();

		if (r % 100 < 55) {
			u64 n = 1 + (r >> 8) % 8;
			u64 align = PAGE_SIZE << ((r >> 16) % 5);
			paddr_t want = model_alloc(n, align);
			paddr_t got = palloc_alloc(&pa, n, align);

			if (got != want) {
				unit_fail(__FILE__, __LINE__, "op %d: alloc(%" PRIu64 ", 0x%" PRIx64
					  ") = 0x%" PRIx64 ", model 0x%" PRIx64, op, n, align, got, want);
				mismatches++;
			}
			if (want) {
				live[nlive].addr = want;
				live[nlive++].n = n;
				allocs_ok++;
			}
		} else {
			paddr_t addr;
			u64 n;

			if (nlive && r % 100 < 90) {
				/* A real allocation, sometimes only part of it. */
				u32 k = (u32)((r >> 8) % nlive);

				addr = live[k].addr;
				n = live[k].n;
				if ((r >> 40) % 4 == 0 && n > 1)
					n--;
				live[k] = live[--nlive];
			} else {
				/* Anything, including out of range and unaligned. */
				addr = RND_BASE - 2 * PAGE_SIZE + ((r >> 8) % (RND_PAGES + 4)) * PAGE_SIZE;
				if ((r >> 40) % 8 == 0)
					addr += 0x800;
				n = (r >> 48) % 4;
			}
			bool want = model_free(addr, n);
			bool got = palloc_free(&pa, addr, n);

			if (got != want) {
				unit_fail(__FILE__, __LINE__, "op %d: free(0x%" PRIx64 ", %" PRIu64
					  ") = %d, model %d", op, addr, n, got, want);
				mismatches++;
			}
			frees_ok += want;
		}

		u64 model_free_count = 0;
		for (int i = 0; i < RND_PAGES; i++)
			model_free_count += !model[i];
		if (pa.nfree != model_free_count) {
			unit_fail(__FILE__, __LINE__, "op %d: nfree %" PRIu64 ", model %" PRIu64, op,
				  pa.nfree, model_free_count);
			mismatches++;
		}
		for (int i = 0; i < RND_PAGES; i++)
			if (page_used(&pa, i) != model[i]) {
				unit_fail(__FILE__, __LINE__, "op %d: page %d differs", op, i);
				mismatches++;
				break;
			}
	}
	/* The run must actually have exercised both paths. */
	CHECK(allocs_ok > 1000);
	CHECK(frees_ok > 1000);
	CHECK_EQ(mismatches, 0);
}

/* alloc_at takes exactly the range asked for, or nothing: a used page anywhere in it is
 * reported (the first one), and ranges outside the allocator or not page aligned are refused
 * without touching the bitmap. */
TEST(palloc_alloc_at_exact_range)
{
	struct palloc pa;
	u64 bm[2];
	paddr_t taken = 1;

	palloc_init(&pa, BASE, 100, bm);
	palloc_release(&pa, BASE, 100 * PAGE_SIZE);
	palloc_reserve(&pa, PG(40), PAGE_SIZE);
	palloc_reserve(&pa, PG(45), PAGE_SIZE);

	/* a free run: exactly those pages, nfree drops by that much */
	CHECK_EQ(palloc_alloc_at(&pa, PG(10), 20, &taken), PG(10));
	CHECK_EQ(taken, 0);
	CHECK_EQ(pa.nfree, 100 - 2 - 20);
	CHECK_EQ(used_mask(&pa) & bits(0, 63), bits(10, 29) | bits(40, 40) | bits(45, 45));

	/* overlapping a reserved page: refused, the first used page is named, nothing taken */
	CHECK_EQ(palloc_alloc_at(&pa, PG(35), 20, &taken), 0);
	CHECK_EQ(taken, PG(40));
	CHECK_EQ(palloc_alloc_at(&pa, PG(5), 10, &taken), 0);
	CHECK_EQ(taken, PG(10)); /* overlapping the earlier allocation */
	CHECK_EQ(pa.nfree, 100 - 2 - 20);

	/* outside the covered range, unaligned, empty: refused with taken = 0 */
	CHECK_EQ(palloc_alloc_at(&pa, BASE - PAGE_SIZE, 2, &taken), 0);
	CHECK_EQ(taken, 0);
	CHECK_EQ(palloc_alloc_at(&pa, PG(95), 6, &taken), 0);
	CHECK_EQ(taken, 0);
	CHECK_EQ(palloc_alloc_at(&pa, PG(50) + 0x800, 1, &taken), 0);
	CHECK_EQ(taken, 0);
	CHECK_EQ(palloc_alloc_at(&pa, PG(50), 0, &taken), 0);
	CHECK_EQ(palloc_alloc_at(&pa, PG(50), ~0ULL, &taken), 0);
	CHECK_EQ(pa.nfree, 100 - 2 - 20);

	/* the last pages exactly; first-fit allocation then skips everything taken */
	CHECK_EQ(palloc_alloc_at(&pa, PG(95), 5, &taken), PG(95));
	CHECK_EQ(palloc_alloc(&pa, 10, PAGE_SIZE), PG(0));
	CHECK_EQ(palloc_alloc(&pa, 10, PAGE_SIZE), PG(30));

	/* freed, the same range can be taken again */
	CHECK(palloc_free(&pa, PG(10), 20));
	CHECK_EQ(palloc_alloc_at(&pa, PG(10), 20, &taken), PG(10));
	CHECK(!palloc_free(&pa, PG(44), 2)); /* 44 is free: a bad free changes nothing */
	CHECK_EQ(palloc_alloc_at(&pa, PG(41), 4, &taken), PG(41));
}
