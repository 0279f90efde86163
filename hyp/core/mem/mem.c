/* The hypervisor's physical memory: one page allocator over all RAM the device tree names,
 * minus what is in use at boot (the hypervisor, the device tree, the system package). Pages
 * are handed out zeroed and scrubbed when they come back, so no VM sees another's data. */
#include <bulkhead/arch.h>
#include <bulkhead/log.h>
#include <bulkhead/palloc.h>
#include <bulkhead/platform.h>
#include <bulkhead/spinlock.h>
#include <bulkhead/string.h>

#define MEM_MAX_COVER GiB(16)

static u64 bitmap[MEM_MAX_COVER / PAGE_SIZE / 64];
static struct palloc pool;
static spinlock_t lock = SPINLOCK_INIT;

extern char __image_start[], __image_end[];

/* Boot-time self-check of the zeroing every VM relies on: a page dirtied and freed must come
 * back zeroed (arch_zero_pages uses DC ZVA where the CPU allows it). */
static void check_scrub(void)
{
	paddr_t pa = page_alloc(1, PAGE_SIZE);
	u64 *p = arch_phys_to_virt(pa);

	CHECK(pa);
	memset(p, 0xA5, PAGE_SIZE);
	page_free(pa, 1);
	CHECK(page_alloc(1, PAGE_SIZE) == pa); /* first fit: the same page again */
	for (u64 i = 0; i < PAGE_SIZE / 8; i++)
		CHECK(p[i] == 0);
	page_free(pa, 1);
}

void mem_init(void);
void mem_init(void)
{
	paddr_t lo = ~0ULL, hi = 0;

	for (u32 i = 0; i < plat.nr_mem; i++) {
		lo = MIN(lo, plat.mem[i].base);
		hi = MAX(hi, plat.mem[i].base + plat.mem[i].size);
	}
	if (hi - lo > MEM_MAX_COVER) {
		log_line("memory: only the first %lu GiB of RAM are used", (u64)(MEM_MAX_COVER >> 30));
		hi = lo + MEM_MAX_COVER;
	}
	palloc_init(&pool, lo, (hi - lo) / PAGE_SIZE, bitmap);
	for (u32 i = 0; i < plat.nr_mem; i++)
		palloc_release(&pool, plat.mem[i].base, plat.mem[i].size);
	palloc_reserve(&pool, (uintptr_t)__image_start, (uintptr_t)__image_end - (uintptr_t)__image_start);
	for (u32 i = 0; i < plat.nr_rsv; i++)
		palloc_reserve(&pool, plat.rsv[i].base, plat.rsv[i].size);
	if (plat.initrd_end > plat.initrd_start)
		palloc_reserve(&pool, plat.initrd_start, plat.initrd_end - plat.initrd_start);
	log_line("memory: %lu MiB free for VMs", (pool.nfree * PAGE_SIZE) >> 20);
	check_scrub();
}

paddr_t page_alloc(u64 npages, u64 align)
{
	spin_lock(&lock);
	paddr_t pa = palloc_alloc(&pool, npages, align);
	spin_unlock(&lock);
	if (pa)
		arch_zero_pages(arch_phys_to_virt(pa), npages * PAGE_SIZE);
	return pa;
}

paddr_t page_alloc_at(paddr_t addr, u64 npages, paddr_t *taken)
{
	spin_lock(&lock);
	paddr_t pa = palloc_alloc_at(&pool, addr, npages, taken);
	spin_unlock(&lock);
	if (pa)
		arch_zero_pages(arch_phys_to_virt(pa), npages * PAGE_SIZE);
	return pa;
}

void page_free(paddr_t addr, u64 npages)
{
	arch_zero_pages(arch_phys_to_virt(addr), npages * PAGE_SIZE); /* scrub before reuse */
	spin_lock(&lock);
	bool ok = palloc_free(&pool, addr, npages);
	spin_unlock(&lock);
	if (!ok)
		panic("page_free of 0x%lx (%lu pages): not allocated", addr, npages);
}

u64 page_free_count(void)
{
	return pool.nfree;
}
