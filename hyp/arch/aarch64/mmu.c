/* The hypervisor's own EL2 translation tables: RAM read-write and never executable, the
 * image's text read-only and executable, its data read-write, device pages as Device-nGnRE.
 * 4 KiB granule, 39-bit addresses, tables from a static pool (no allocator exists yet). */
#include <arch/sysreg.h>
#include <bulkhead/arch.h>
#include <bulkhead/log.h>
#include <bulkhead/platform.h>
#include <arch/cpu.h>
#include <bulkhead/string.h>

#define PT_ENTRIES 512
#define PAGE_SIZE_BYTES 4096
#define POOL_TABLES 48

#define D_VALID BIT(0)
#define D_TABLE BIT(1) /* table (levels 1, 2) or page (level 3) */
#define D_ATTR(i) ((u64)(i) << 2)
#define D_RO BIT(7)    /* AP[2] */
#define D_SH_INNER (3ULL << 8)
#define D_AF BIT(10)
#define D_XN BIT(54)
#define D_ADDR_MASK 0x0000FFFFFFFFF000ULL

#define ATTR_DEVICE 0 /* MAIR index: Device-nGnRE */
#define ATTR_NORMAL 1 /* Normal, write-back */
#define MAIR_VALUE (0x04ULL | (0xFFULL << 8))

#define PROT_RW (D_ATTR(ATTR_NORMAL) | D_XN)
#define PROT_RX (D_ATTR(ATTR_NORMAL) | D_RO)
#define PROT_RO (D_ATTR(ATTR_NORMAL) | D_RO | D_XN)
#define PROT_DEV (D_ATTR(ATTR_DEVICE) | D_XN)

static u64 pool[POOL_TABLES][PT_ENTRIES] __attribute__((aligned(4096)));
static u32 pool_used;
static u64 *root;
static u64 tcr_value;

extern char __image_start[], __text_end[], __rodata_end[], __image_end[];

static u64 *new_table(void)
{
	if (pool_used == POOL_TABLES)
		panic("EL2 page table pool exhausted");
	return pool[pool_used++];
}

/* Maps [va, va+size) at level lvl (1..3) of table t, keeping any valid mapping already there
 * (so the image's fine-grained mapping survives the RAM block mapping around it). */
static void map_level(u64 *t, u32 lvl, u64 va, u64 end, u64 pa, u64 prot)
{
	u32 shift = 39 - 9 * lvl;
	u64 span = 1ULL << shift;

	while (va < end) {
		u64 next = MIN(ALIGN_DOWN(va, span) + span, end);
		u64 *e = &t[(va >> shift) & (PT_ENTRIES - 1)];
		bool whole = IS_ALIGNED(va, span) && next - va == span && IS_ALIGNED(pa, span);

		if (lvl == 3) {
			if (!(*e & D_VALID))
				*e = pa | prot | D_VALID | D_TABLE | D_AF | D_SH_INNER;
		} else if (whole && !(*e & D_VALID)) {
			*e = pa | prot | D_VALID | D_AF | D_SH_INNER;
		} else if (!(*e & D_VALID) || (*e & D_TABLE)) {
			if (!(*e & D_VALID))
				*e = (u64)(uintptr_t)new_table() | D_VALID | D_TABLE;
			map_level((u64 *)(uintptr_t)(*e & D_ADDR_MASK), lvl + 1, va, next, pa, prot);
		}
		pa += next - va;
		va = next;
	}
}

static void map(u64 base, u64 size, u64 prot)
{
	map_level(root, 1, ALIGN_DOWN(base, 4096), ALIGN_UP(base + size, 4096), ALIGN_DOWN(base, 4096),
		  prot);
}

static u64 pa_bits_field(void)
{
	u64 parange = read_sysreg(id_aa64mmfr0_el1) & 0xF;

	return MIN(parange, 5ULL); /* at most 48 bits */
}

/* Builds the tables for the whole machine and turns the MMU on (boot CPU). */
void arch_mmu_init(void)
{
	uintptr_t img = (uintptr_t)__image_start;

	root = new_table();
	map(img, (uintptr_t)__text_end - img, PROT_RX);
	map((uintptr_t)__text_end, (uintptr_t)__rodata_end - (uintptr_t)__text_end, PROT_RO);
	map((uintptr_t)__rodata_end, (uintptr_t)__image_end - (uintptr_t)__rodata_end, PROT_RW);
	for (u32 i = 0; i < plat.nr_mem; i++)
		map(plat.mem[i].base, plat.mem[i].size, PROT_RW);
	map(plat.uart.base, plat.uart.size, PROT_DEV);
	map(plat.gicd.base, plat.gicd.size, PROT_DEV);
	map(plat.gicr.base, plat.gicr.size, PROT_DEV);

	/* T0SZ = 25 (39-bit), WBWA inner/outer, inner shareable, 4 KiB granule, RES1 bits. */
	tcr_value = 25 | (1ULL << 8) | (1ULL << 10) | (3ULL << 12) | (pa_bits_field() << 16) |
		    BIT(23) | BIT(31);
	mmu_enable_secondary();
}

/* Turns the MMU on with the tables the boot CPU built (every CPU, MMU still off). */
void mmu_enable_secondary(void)
{
	write_sysreg(mair_el2, MAIR_VALUE);
	write_sysreg(tcr_el2, tcr_value);
	write_sysreg(ttbr0_el2, (u64)(uintptr_t)root);
	isb();
	__asm__ volatile("tlbi alle2" ::: "memory");
	dsb(ish);
	isb();
	write_sysreg(sctlr_el2, SCTLR_EL2_RES1 | SCTLR_M | SCTLR_C | SCTLR_SA | SCTLR_I | SCTLR_WXN);
	isb();
}

void *arch_phys_to_virt(paddr_t pa)
{
	return (void *)(uintptr_t)pa;
}

void arch_zero_pages(void *p, u64 size)
{
	u64 dczid = read_sysreg(dczid_el0);
	u64 block = 4ULL << (dczid & 0xF); /* DC ZVA block size in bytes */
	u8 *a = p, *end = a + size;

	if ((dczid & BIT(4)) || block > PAGE_SIZE_BYTES) { /* DC ZVA prohibited */
		memset(p, 0, size);
		return;
	}
	for (; a < end; a += block)
		__asm__ volatile("dc zva, %0" : : "r"(a) : "memory");
	dsb(ish);
}
