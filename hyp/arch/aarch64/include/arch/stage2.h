/* Stage-2 translation tables (4 KiB granule, 39-bit IPA, start level 1): the pure table
 * builder (stage2_pt.c, unit-tested on the host) and the VM's translation state. */
#ifndef ARCH_STAGE2_H
#define ARCH_STAGE2_H

#include <bulkhead/types.h>

#define S2_IPA_BITS 39
#define S2_MEM_NORMAL 0 /* memory type for s2pt_map */
#define S2_MEM_DEVICE 1

/* Where tables come from: in the hypervisor the page allocator, in tests malloc. */
struct s2pt_ops {
	/* Returns a zeroed 4 KiB table and its physical address, or NULL. */
	u64 *(*alloc)(void *ctx, paddr_t *pa);
	u64 *(*to_virt)(void *ctx, paddr_t pa);
	void (*free)(void *ctx, paddr_t pa);
	void *ctx;
};

struct s2pt {
	paddr_t root_pa; /* level-1 table */
	u64 *root;
	const struct s2pt_ops *ops;
	u32 tables;      /* tables in use, root included */
};

int s2pt_init(struct s2pt *pt, const struct s2pt_ops *ops);
/* Maps [ipa, ipa+size) to [pa, pa+size): 2 MiB and 1 GiB blocks where aligned, else pages.
 * E_ALIGN if not 4 KiB aligned, E_RANGE beyond the IPA size, E_OVERLAP if any part is already
 * mapped (nothing is changed then), E_NOMEM if tables run out. */
int s2pt_map(struct s2pt *pt, gpa_t ipa, paddr_t pa, u64 size, u32 mem);
/* Frees every table, the root included. */
void s2pt_destroy(struct s2pt *pt);
/* Translates ipa; returns false if unmapped. *level gets the level of the leaf (1..3). */
bool s2pt_lookup(const struct s2pt *pt, gpa_t ipa, paddr_t *pa, u32 *level);

struct arch_stage2 {
	struct s2pt pt;
	u16 vmid;
	u64 vttbr;
	u64 cntvoff;
};

#endif
