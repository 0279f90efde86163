/* Emulated MMIO: a decoded guest access and the per-VM table of device regions.
 * Devices see only an offset, a width and a value. */
#ifndef BULKHEAD_MMIO_H
#define BULKHEAD_MMIO_H

#include <bulkhead/types.h>

struct vm;
struct vcpu;

/* One trapped load or store, decoded once by the arch layer. */
struct mmio_access {
	gpa_t addr;
	u8 width;        /* bytes: 1, 2, 4 or 8 */
	bool write;
	u8 reg;          /* guest general register number; 31 is the zero register */
	bool sign_extend;
	bool reg64;      /* destination register is 64-bit (X) rather than 32-bit (W) */
	u64 value;       /* value written, or value read (filled by the device) */
};

struct mmio_ops {
	const char *name;
	/* Return false for an access the device does not accept (bad width, offset): the guest
	 * then receives an external abort. */
	bool (*read)(void *dev, u64 offset, u32 width, u64 *value);
	bool (*write)(void *dev, u64 offset, u32 width, u64 value);
};

struct mmio_region {
	gpa_t base;
	u64 size;
	const struct mmio_ops *ops;
	void *dev;
	u32 index; /* its place in the table (counters per region are kept per vCPU by it) */
};

#define VM_MAX_MMIO 16

struct mmio_table {
	u32 count;
	struct mmio_region r[VM_MAX_MMIO]; /* sorted by base, never overlapping */
};

/* Adds a region, keeping the table sorted. E_OVERLAP, E_FULL or E_INVAL on error. */
int mmio_add(struct mmio_table *t, gpa_t base, u64 size, const struct mmio_ops *ops, void *dev);
/* The region containing addr, by binary search, or NULL. */
struct mmio_region *mmio_find(const struct mmio_table *t, gpa_t addr);
/* Emulates one access in region r (found with mmio_find). Returns false if the device
 * refused it or it runs past the region's end. */
bool mmio_access_region(const struct mmio_region *r, struct mmio_access *a);
/* Emulates one access. Returns false if no device owns the address or the device refused. */
bool mmio_emulate(const struct mmio_table *t, struct mmio_access *a);

#endif
