/* The VM pool (pool.h): one contiguous range taken from the page allocator at boot and managed
 * by a page allocator of its own, so that VMs created and destroyed at run time can never eat
 * into what the hypervisor and the boot-time VMs need, and its free count is exact. */
#include <bulkhead/arch.h>
#include <bulkhead/config.h>
#include <bulkhead/errno.h>
#include <bulkhead/log.h>
#include <bulkhead/palloc.h>
#include <bulkhead/pool.h>
#include <bulkhead/spinlock.h>

static u64 bitmap[CFG_POOL_MAX / PAGE_SIZE / 64];
static struct palloc vm_pool;
static spinlock_t lock = SPINLOCK_INIT;
static u64 total;

int pool_init(u64 size)
{
	paddr_t pa = page_alloc(size / PAGE_SIZE, CFG_RAM_ALIGN);

	if (!pa)
		return E_NOMEM;
	palloc_init(&vm_pool, pa, size / PAGE_SIZE, bitmap);
	palloc_release(&vm_pool, pa, size);
	total = size;
	return E_OK;
}

paddr_t pool_alloc(u64 npages, u64 align)
{
	paddr_t pa;

	if (!total)
		return 0;
	spin_lock(&lock);
	pa = palloc_alloc(&vm_pool, npages, align);
	spin_unlock(&lock);
	if (pa)
		arch_zero_pages(arch_phys_to_virt(pa), npages * PAGE_SIZE);
	return pa;
}

void pool_free(paddr_t pa, u64 npages)
{
	bool ok;

	arch_zero_pages(arch_phys_to_virt(pa), npages * PAGE_SIZE); /* scrub before reuse */
	spin_lock(&lock);
	ok = palloc_free(&vm_pool, pa, npages);
	spin_unlock(&lock);
	if (!ok)
		panic("pool_free of 0x%lx (%lu pages): not allocated", pa, npages);
}

u64 pool_total_bytes(void)
{
	return total;
}

u64 pool_free_bytes(void)
{
	return total ? vm_pool.nfree * PAGE_SIZE : 0;
}
