/* Per-VM MMIO dispatch: a table of device regions sorted by address, searched by bisection,
 * so an exit finds its device in O(log n) whatever the number of devices. */
#include <bulkhead/errno.h>
#include <bulkhead/mmio.h>
#include <bulkhead/string.h>

int mmio_add(struct mmio_table *t, gpa_t base, u64 size, const struct mmio_ops *ops, void *dev)
{
	u32 i;

	if (!size || base + size < base || !ops)
		return E_INVAL;
	if (t->count == VM_MAX_MMIO)
		return E_FULL;
	for (i = 0; i < t->count && t->r[i].base < base; i++)
		;
	if ((i > 0 && ranges_overlap(t->r[i - 1].base, t->r[i - 1].size, base, size)) ||
	    (i < t->count && ranges_overlap(t->r[i].base, t->r[i].size, base, size)))
		return E_OVERLAP;
	memmove(&t->r[i + 1], &t->r[i], (t->count - i) * sizeof(t->r[0]));
	t->r[i] = (struct mmio_region){ base, size, ops, dev, i };
	t->count++;
	for (u32 k = i + 1; k < t->count; k++)
		t->r[k].index = k;
	return E_OK;
}

struct mmio_region *mmio_find(const struct mmio_table *t, gpa_t addr)
{
	u32 lo = 0, hi = t->count;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;
		const struct mmio_region *r = &t->r[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->size)
			lo = mid + 1;
		else
			return (struct mmio_region *)r; /* the table is the caller's */
	}
	return NULL;
}

bool mmio_emulate(const struct mmio_table *t, struct mmio_access *a)
{
	const struct mmio_region *r = mmio_find(t, a->addr);

	return r && mmio_access_region(r, a);
}

bool mmio_access_region(const struct mmio_region *r, struct mmio_access *a)
{
	u64 off = a->addr - r->base;

	if (a->width > r->size - off)
		return false; /* straddles the end of the region */
	if (a->write)
		return r->ops->write ? r->ops->write(r->dev, off, a->width, a->value) : false;
	return r->ops->read ? r->ops->read(r->dev, off, a->width, &a->value) : false;
}
