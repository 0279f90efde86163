/* A small, defensive flattened device tree (DTB) reader.
 * Every offset is checked against the blob, so a hostile or corrupt blob yields an error,
 * never an out-of-bounds read. Used by the hypervisor (host DTB, VM configuration) and by the
 * host tools and unit tests. */
#ifndef BULKHEAD_FDT_H
#define BULKHEAD_FDT_H

#include <bulkhead/types.h>

/* Error codes (negative). */
#define FDT_ERR_NOTFOUND (-1)
#define FDT_ERR_BADMAGIC (-2)
#define FDT_ERR_BADVERSION (-3)
#define FDT_ERR_TRUNCATED (-4)
#define FDT_ERR_BADSTRUCTURE (-5)
#define FDT_ERR_BADOFFSET (-6)

struct fdt {
	const u8 *blob;
	u32 size;       /* validated total size */
	u32 off_struct; /* structure block */
	u32 size_struct;
	u32 off_strings; /* strings block */
	u32 size_strings;
	u32 off_rsvmap;
};

/* Checks the header and the block bounds of the blob (at most max_size bytes) and fills fdt.
 * Returns 0 or an FDT_ERR_*. */
int fdt_init(struct fdt *fdt, const void *blob, u64 max_size);
/* Total size from the header of a blob (without validation), 0 if the magic is wrong. */
u32 fdt_blob_size(const void *blob);

/* Node offsets are byte offsets into the structure block; the root is fdt_root(). */
int fdt_root(const struct fdt *fdt);
/* First child / next sibling of a node, or FDT_ERR_NOTFOUND. */
int fdt_first_child(const struct fdt *fdt, int node);
int fdt_next_sibling(const struct fdt *fdt, int node);
/* Name of a node (including any "@unit"), and its length in *len. NULL on error. */
const char *fdt_node_name(const struct fdt *fdt, int node, int *len);
/* Child whose name is exactly name, or whose name before '@' is name. */
int fdt_subnode(const struct fdt *fdt, int node, const char *name);
/* Node at an absolute path such as "/chosen" or "/vms/alpha". */
int fdt_path(const struct fdt *fdt, const char *path);

/* Property lookup: pointer to the value and its length, or NULL. */
const void *fdt_getprop(const struct fdt *fdt, int node, const char *name, int *len);
/* Iterate properties of a node: returns a property offset, or FDT_ERR_NOTFOUND. */
int fdt_first_prop(const struct fdt *fdt, int node);
int fdt_next_prop(const struct fdt *fdt, int prop);
/* Name, value and length of the property at offset prop. Returns 0 or an error. */
int fdt_prop_at(const struct fdt *fdt, int prop, const char **name, const void **val, int *len);

/* Typed helpers. */
bool fdt_read_u32(const struct fdt *fdt, int node, const char *name, u32 *out);
/* A string property that is NUL-terminated within its length. */
const char *fdt_read_string(const struct fdt *fdt, int node, const char *name);
/* True if the node's "compatible" string list contains compat. */
bool fdt_is_compatible(const struct fdt *fdt, int node, const char *compat);
/* Next node (depth-first, after start; start < 0 means from the root) compatible with compat. */
int fdt_find_compatible(const struct fdt *fdt, int start, const char *compat);
/* #address-cells / #size-cells of a node (defaults 2 and 1 per the specification). */
u32 fdt_address_cells(const struct fdt *fdt, int node);
u32 fdt_size_cells(const struct fdt *fdt, int node);
/* Parent of a node (found by walking from the root), or an error for the root. */
int fdt_parent(const struct fdt *fdt, int node);
/* Reads entry idx of a "reg" property, using the parent's cell sizes. */
bool fdt_read_reg(const struct fdt *fdt, int node, int idx, u64 *base, u64 *size);
/* Memory reservation map entry idx (address, size); false past the end. */
bool fdt_rsvmap(const struct fdt *fdt, int idx, u64 *addr, u64 *size);

/* Big-endian cell readers (cells may be unaligned in a hostile blob). */
static inline u32 fdt32_ld(const void *p)
{
	const u8 *b = p;
	return ((u32)b[0] << 24) | ((u32)b[1] << 16) | ((u32)b[2] << 8) | b[3];
}
/* Reads n (1 or 2) cells as one number. */
static inline u64 fdt_cells_ld(const void *p, u32 n)
{
	u64 v = 0;
	for (u32 i = 0; i < n; i++)
		v = (v << 32) | fdt32_ld((const u8 *)p + 4 * i);
	return v;
}

#endif
