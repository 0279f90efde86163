/* Physical page allocator: a bitmap over one physical range, with aligned contiguous
 * allocation. Pure data structure (no locking), so host unit tests link it directly;
 * mem.c wraps the hypervisor's instance with a lock and scrubbing. */
#ifndef BULKHEAD_PALLOC_H
#define BULKHEAD_PALLOC_H

#include <bulkhead/types.h>

#define PAGE_SIZE ((u64)4096)
#define PAGE_SHIFT 12

struct palloc {
	paddr_t base;  /* first page covered */
	u64 npages;    /* pages covered */
	u64 *bitmap;   /* one bit per page, 1 = in use; npages bits */
	u64 nfree;     /* pages currently free */
};

/* Covers [base, base + npages pages), all in use until palloc_release() frees them. */
void palloc_init(struct palloc *pa, paddr_t base, u64 npages, u64 *bitmap);
/* Marks a range free (page-aligned inward). Parts outside the covered range are ignored. */
void palloc_release(struct palloc *pa, paddr_t base, u64 size);
/* Marks a range in use (page-aligned outward), e.g. the hypervisor image or a DTB. */
void palloc_reserve(struct palloc *pa, paddr_t base, u64 size);
/* Allocates npages contiguous pages aligned to align bytes (a power of two >= 4 KiB).
 * Returns the physical address, or 0 if there is no such run. */
paddr_t palloc_alloc(struct palloc *pa, u64 npages, u64 align);
/* Allocates exactly [addr, addr + npages pages) (identity-mapped VM RAM). Returns addr, or 0
 * if the range is not page aligned or not entirely covered (*taken = 0), or if a page in it is
 * in use (*taken = the first such page); nothing is changed then. */
paddr_t palloc_alloc_at(struct palloc *pa, paddr_t addr, u64 npages, paddr_t *taken);
/* Frees pages from palloc_alloc or palloc_alloc_at. Returns false (and changes nothing) if any page in the range
 * is outside the allocator or already free: a double free is a bug the caller must see. */
bool palloc_free(struct palloc *pa, paddr_t addr, u64 npages);

/* The hypervisor's allocator (mem.c): zeroed pages, scrubbed again when freed. */
paddr_t page_alloc(u64 npages, u64 align);
/* The same at a fixed address (zeroed); 0 and *taken as palloc_alloc_at. */
paddr_t page_alloc_at(paddr_t addr, u64 npages, paddr_t *taken);
void page_free(paddr_t addr, u64 npages);
u64 page_free_count(void);

#endif
