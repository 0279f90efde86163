/* Physical page allocator: one bit per 4 KiB page, first-fit search for aligned runs. */
#include <bulkhead/palloc.h>

static bool used(const struct palloc *pa, u64 i)
{
	return pa->bitmap[i / 64] & (1ULL << (i % 64));
}

static void set_range(struct palloc *pa, u64 first, u64 n, bool in_use)
{
	for (u64 i = first; i < first + n; i++) {
		u64 bit = 1ULL << (i % 64);

		if (in_use && !(pa->bitmap[i / 64] & bit)) {
			pa->bitmap[i / 64] |= bit;
			pa->nfree--;
		} else if (!in_use && (pa->bitmap[i / 64] & bit)) {
			pa->bitmap[i / 64] &= ~bit;
			pa->nfree++;
		}
	}
}

void palloc_init(struct palloc *pa, paddr_t base, u64 npages, u64 *bitmap)
{
	pa->base = base;
	pa->npages = npages;
	pa->bitmap = bitmap;
	pa->nfree = 0;
	for (u64 i = 0; i < (npages + 63) / 64; i++)
		bitmap[i] = ~0ULL;
}

/* Clips [base, base+size) to the covered pages; rounds inward if inward, else outward. */
static bool clip(const struct palloc *pa, paddr_t base, u64 size, bool inward, u64 *first,
		 u64 *n)
{
	u64 end = base + size < base ? ~0ULL : base + size;
	u64 last = ALIGN_DOWN(~0ULL, PAGE_SIZE); /* ALIGN_UP of anything above wraps to 0 */
	u64 lo, hi;
	u64 top = pa->base + pa->npages * PAGE_SIZE;

	if (!size || (inward && base > last))
		return false; /* empty, or no whole page once rounded inward */
	lo = inward ? ALIGN_UP(base, PAGE_SIZE) : ALIGN_DOWN(base, PAGE_SIZE);
	hi = inward || end > last ? ALIGN_DOWN(end, PAGE_SIZE) : ALIGN_UP(end, PAGE_SIZE);
	lo = MAX(lo, pa->base);
	hi = MIN(hi, top);
	if (hi <= lo)
		return false;
	*first = (lo - pa->base) >> PAGE_SHIFT;
	*n = (hi - lo) >> PAGE_SHIFT;
	return true;
}

void palloc_release(struct palloc *pa, paddr_t base, u64 size)
{
	u64 first, n;

	if (clip(pa, base, size, true, &first, &n))
		set_range(pa, first, n, false);
}

void palloc_reserve(struct palloc *pa, paddr_t base, u64 size)
{
	u64 first, n;

	if (clip(pa, base, size, false, &first, &n))
		set_range(pa, first, n, true);
}

paddr_t palloc_alloc(struct palloc *pa, u64 npages, u64 align)
{
	if (!npages || npages > pa->nfree || align < PAGE_SIZE || (align & (align - 1)))
		return 0;
	u64 step = align >> PAGE_SHIFT;
	/* First page index whose address is aligned. */
	u64 first_aligned = (ALIGN_UP(pa->base, align) - pa->base) >> PAGE_SHIFT;
	u64 i = first_aligned;

	while (i + npages <= pa->npages) {
		u64 j = 0;

		while (j < npages && !used(pa, i + j))
			j++;
		if (j == npages) {
			set_range(pa, i, npages, true);
			return pa->base + (i << PAGE_SHIFT);
		}
		/* Skip past the used page i + j, to the next aligned index. */
		i = first_aligned + ((i + j - first_aligned) / step + 1) * step;
	}
	return 0;
}

paddr_t palloc_alloc_at(struct palloc *pa, paddr_t addr, u64 npages, paddr_t *taken)
{
	u64 first;

	*taken = 0;
	if (!npages || addr < pa->base || !IS_ALIGNED(addr - pa->base, PAGE_SIZE))
		return 0;
	first = (addr - pa->base) >> PAGE_SHIFT;
	if (first >= pa->npages || npages > pa->npages - first)
		return 0;
	for (u64 i = first; i < first + npages; i++) {
		if (used(pa, i)) {
			*taken = pa->base + (i << PAGE_SHIFT);
			return 0;
		}
	}
	set_range(pa, first, npages, true);
	return addr;
}

bool palloc_free(struct palloc *pa, paddr_t addr, u64 npages)
{
	if (!npages || addr < pa->base || !IS_ALIGNED(addr - pa->base, PAGE_SIZE))
		return false;
	u64 first = (addr - pa->base) >> PAGE_SHIFT;
	if (first >= pa->npages || npages > pa->npages - first)
		return false;
	for (u64 i = first; i < first + npages; i++)
		if (!used(pa, i))
			return false;
	set_range(pa, first, npages, false);
	return true;
}
