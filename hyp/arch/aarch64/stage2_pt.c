/* Stage-2 table builder: pure table manipulation (no system registers), so the host unit
 * tests run it as is. 4 KiB granule, 39-bit IPA, tables from levels 1 to 3. */
#include <arch/stage2.h>
#include <bulkhead/errno.h>

#define ENTRIES 512
#define D_VALID BIT(0)
#define D_TABLE BIT(1)
#define D_ADDR 0x0000FFFFFFFFF000ULL
#define S2_MEMATTR_NORMAL (0xFULL << 2) /* outer and inner write-back */
#define S2_MEMATTR_DEVICE (0x1ULL << 2) /* Device-nGnRE */
#define S2_AP_RW (3ULL << 6)
#define S2_SH_INNER (3ULL << 8)
#define S2_AF BIT(10)

static u32 level_shift(u32 lvl)
{
	return 39 - 9 * lvl; /* level 1: 30, level 2: 21, level 3: 12 */
}

int s2pt_init(struct s2pt *pt, const struct s2pt_ops *ops)
{
	pt->ops = ops;
	pt->root = ops->alloc(ops->ctx, &pt->root_pa);
	pt->tables = pt->root ? 1 : 0;
	return pt->root ? E_OK : E_NOMEM;
}

/* True if any part of [ipa, end) is mapped under table t at level lvl. */
static bool any_mapped(const struct s2pt *pt, const u64 *t, u32 lvl, u64 ipa, u64 end)
{
	u64 span = 1ULL << level_shift(lvl);

	while (ipa < end) {
		u64 next = MIN(ALIGN_DOWN(ipa, span) + span, end);
		u64 e = t[(ipa >> level_shift(lvl)) % ENTRIES];

		if (e & D_VALID) {
			if (lvl == 3 || !(e & D_TABLE))
				return true;
			if (any_mapped(pt, pt->ops->to_virt(pt->ops->ctx, e & D_ADDR), lvl + 1, ipa,
				       next))
				return true;
		}
		ipa = next;
	}
	return false;
}

static int map_level(struct s2pt *pt, u64 *t, u32 lvl, u64 ipa, u64 end, u64 pa, u64 attr)
{
	u64 span = 1ULL << level_shift(lvl);

	while (ipa < end) {
		u64 next = MIN(ALIGN_DOWN(ipa, span) + span, end);
		u64 *e = &t[(ipa >> level_shift(lvl)) % ENTRIES];

		if (lvl == 3) {
			*e = pa | attr | D_VALID | D_TABLE;
		} else if (next - ipa == span && IS_ALIGNED(ipa | pa, span) && !(*e & D_VALID)) {
			*e = pa | attr | D_VALID; /* block */
		} else {
			if (!(*e & D_VALID)) {
				paddr_t tpa;

				if (!pt->ops->alloc(pt->ops->ctx, &tpa))
					return E_NOMEM;
				pt->tables++;
				*e = tpa | D_VALID | D_TABLE;
			}
			int r = map_level(pt, pt->ops->to_virt(pt->ops->ctx, *e & D_ADDR), lvl + 1,
					  ipa, next, pa, attr);
			if (r)
				return r;
		}
		pa += next - ipa;
		ipa = next;
	}
	return E_OK;
}

int s2pt_map(struct s2pt *pt, gpa_t ipa, paddr_t pa, u64 size, u32 mem)
{
	if (!size || !IS_ALIGNED(ipa | pa | size, 4096))
		return E_ALIGN;
	if (ipa + size < ipa || ipa + size > (1ULL << S2_IPA_BITS) || pa + size < pa ||
	    pa + size > (1ULL << 48))
		return E_RANGE;
	if (any_mapped(pt, pt->root, 1, ipa, ipa + size))
		return E_OVERLAP;
	u64 attr = (mem == S2_MEM_DEVICE ? S2_MEMATTR_DEVICE : S2_MEMATTR_NORMAL) | S2_AP_RW |
		   S2_SH_INNER | S2_AF;
	return map_level(pt, pt->root, 1, ipa, ipa + size, pa, attr);
}

bool s2pt_lookup(const struct s2pt *pt, gpa_t ipa, paddr_t *pa, u32 *level)
{
	const u64 *t = pt->root;

	if (ipa >= (1ULL << S2_IPA_BITS))
		return false;
	for (u32 lvl = 1; lvl <= 3; lvl++) {
		u64 e = t[(ipa >> level_shift(lvl)) % ENTRIES];
		u64 span = 1ULL << level_shift(lvl);

		if (!(e & D_VALID))
			return false;
		if (lvl == 3 || !(e & D_TABLE)) {
			*pa = (e & D_ADDR & ~(span - 1)) | (ipa & (span - 1));
			*level = lvl;
			return true;
		}
		t = pt->ops->to_virt(pt->ops->ctx, e & D_ADDR);
	}
	return false;
}

static void free_level(struct s2pt *pt, paddr_t tpa, u32 lvl)
{
	u64 *t = pt->ops->to_virt(pt->ops->ctx, tpa);

	for (u32 i = 0; lvl < 3 && i < ENTRIES; i++)
		if ((t[i] & D_VALID) && (t[i] & D_TABLE))
			free_level(pt, t[i] & D_ADDR, lvl + 1);
	pt->ops->free(pt->ops->ctx, tpa);
	pt->tables--;
}

void s2pt_destroy(struct s2pt *pt)
{
	if (pt->root)
		free_level(pt, pt->root_pa, 1);
	pt->root = NULL;
}
