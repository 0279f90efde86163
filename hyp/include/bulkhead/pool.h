/* The VM pool: memory the configuration (/pool) sets aside at boot for VMs created at run time.
 * Pages come out zeroed and are scrubbed when they come back, as with page_alloc. */
#ifndef BULKHEAD_POOL_H
#define BULKHEAD_POOL_H

#include <bulkhead/types.h>

/* Sets size bytes (2 MiB multiple) aside from the page allocator. E_OK or E_NOMEM. */
int pool_init(u64 size);
paddr_t pool_alloc(u64 npages, u64 align);
void pool_free(paddr_t pa, u64 npages);
u64 pool_total_bytes(void);
u64 pool_free_bytes(void);

#endif
