/* Defensive flattened device tree reader (see bulkhead/fdt.h). fdt_init checks the header and
 * the whole structure block once; every accessor still bounds-checks each token it reads. */
#include <bulkhead/fdt.h>
#include <bulkhead/string.h>

#define FDT_MAGIC 0xd00dfeedU
#define FDT_HDR_SIZE 40U         /* version 17 header */
#define FDT_MAX_DEPTH 32         /* deepest node nesting accepted (the root is depth 1) */
#define FDT_MAX_SIZE 0x40000000U /* 1 GiB: keeps every offset well inside an int */

#define FDT_BEGIN_NODE 1U
#define FDT_END_NODE 2U
#define FDT_PROP 3U
#define FDT_NOP 4U
#define FDT_END 9U

/* Header field offsets. */
#define HDR_MAGIC 0
#define HDR_TOTALSIZE 4
#define HDR_OFF_STRUCT 8
#define HDR_OFF_STRINGS 12
#define HDR_OFF_RSVMAP 16
#define HDR_VERSION 20
#define HDR_LAST_COMP 24
#define HDR_SIZE_STRINGS 32
#define HDR_SIZE_STRUCT 36

/* One decoded structure-block token. */
struct fdt_tok {
	u32 tag;
	int next;         /* offset of the following token */
	const char *name; /* node name or property name */
	u32 namelen;      /* node name length (without NUL) */
	const u8 *val;    /* property value */
	u32 len;          /* property length */
};

/* Length of the NUL-terminated string at s, or -1 if no NUL within max bytes. */
static s64 bounded_strlen(const u8 *s, u64 max)
{
	for (u64 i = 0; i < max; i++)
		if (s[i] == 0)
			return (s64)i;
	return -1;
}

/* Decodes the token at structure offset off, checking that all of it (name, value, the
 * property name in the strings block) lies inside the blob. Returns 0 or an error. */
static int fdt_token(const struct fdt *fdt, int off, struct fdt_tok *t)
{
	const u8 *st = fdt->blob + fdt->off_struct;
	u64 o = (u64)off, end = fdt->size_struct;

	if (off < 0 || !IS_ALIGNED(o, 4) || o + 4 > end)
		return FDT_ERR_BADSTRUCTURE;
	t->tag = fdt32_ld(st + o);
	t->next = off + 4;
	t->name = NULL;
	t->namelen = 0;
	t->val = NULL;
	t->len = 0;
	if (t->tag == FDT_BEGIN_NODE) {
		s64 n = bounded_strlen(st + o + 4, end - o - 4);

		if (n < 0)
			return FDT_ERR_BADSTRUCTURE;
		t->name = (const char *)st + o + 4;
		t->namelen = (u32)n;
		t->next = (int)ALIGN_UP(o + 4 + (u64)n + 1, 4);
	} else if (t->tag == FDT_PROP) {
		u64 len, nameoff;

		if (o + 12 > end)
			return FDT_ERR_BADSTRUCTURE;
		len = fdt32_ld(st + o + 4);
		nameoff = fdt32_ld(st + o + 8);
		if (len > end - o - 12 || nameoff >= fdt->size_strings)
			return FDT_ERR_BADSTRUCTURE;
		if (bounded_strlen(fdt->blob + fdt->off_strings + nameoff,
				   fdt->size_strings - nameoff) < 0)
			return FDT_ERR_BADSTRUCTURE;
		t->name = (const char *)fdt->blob + fdt->off_strings + nameoff;
		t->val = st + o + 12;
		t->len = (u32)len;
		t->next = (int)ALIGN_UP(o + 12 + len, 4);
	} else if (t->tag != FDT_END_NODE && t->tag != FDT_NOP && t->tag != FDT_END) {
		return FDT_ERR_BADSTRUCTURE;
	}
	/* ALIGN_UP may step past the block end; the next fdt_token call refuses that. */
	return 0;
}

/* Offset of the first token at or after off that is not a NOP; decodes it into t. */
static int skip_nops(const struct fdt *fdt, int off, struct fdt_tok *t)
{
	int err;

	for (;;) {
		err = fdt_token(fdt, off, t);
		if (err)
			return err;
		if (t->tag != FDT_NOP)
			return off;
		off = t->next;
	}
}

/* Checks the token sequence of the structure block: one root node, balanced nesting no deeper
 * than FDT_MAX_DEPTH, properties before subnodes, and an FDT_END after the root. */
static int check_structure(const struct fdt *fdt)
{
	struct fdt_tok t;
	int off, depth = 0;
	u32 prev = FDT_BEGIN_NODE;

	off = skip_nops(fdt, 0, &t);
	if (off < 0)
		return off;
	if (t.tag != FDT_BEGIN_NODE)
		return FDT_ERR_BADSTRUCTURE;
	for (;;) {
		if (fdt_token(fdt, off, &t))
			return FDT_ERR_BADSTRUCTURE;
		switch (t.tag) {
		case FDT_BEGIN_NODE:
			if (++depth > FDT_MAX_DEPTH)
				return FDT_ERR_BADSTRUCTURE;
			break;
		case FDT_END_NODE:
			if (--depth == 0) {
				off = skip_nops(fdt, t.next, &t);
				if (off < 0 || t.tag != FDT_END)
					return FDT_ERR_BADSTRUCTURE;
				return 0;
			}
			break;
		case FDT_PROP:
			if (prev == FDT_END_NODE) /* a property after a subnode */
				return FDT_ERR_BADSTRUCTURE;
			break;
		case FDT_NOP:
			break;
		default: /* FDT_END inside a node */
			return FDT_ERR_BADSTRUCTURE;
		}
		if (t.tag != FDT_NOP)
			prev = t.tag;
		off = t.next;
	}
}

/* Checks that the reservation map ends (with a zero entry) inside the blob. */
static int check_rsvmap(const struct fdt *fdt)
{
	u64 off = fdt->off_rsvmap;

	for (; off + 16 <= fdt->size; off += 16)
		if (fdt_cells_ld(fdt->blob + off, 2) == 0 &&
		    fdt_cells_ld(fdt->blob + off + 8, 2) == 0)
			return 0;
	return FDT_ERR_BADOFFSET;
}

/* True if the block [off, off+size) lies within the blob, after the header. */
static bool block_ok(u64 off, u64 size, u64 total)
{
	return off >= FDT_HDR_SIZE && off <= total && size <= total - off;
}

u32 fdt_blob_size(const void *blob)
{
	const u8 *b = blob;

	if (fdt32_ld(b + HDR_MAGIC) != FDT_MAGIC)
		return 0;
	return fdt32_ld(b + HDR_TOTALSIZE);
}

int fdt_init(struct fdt *fdt, const void *blob, u64 max_size)
{
	const u8 *b = blob;
	u32 total, version;
	int err;

	memset(fdt, 0, sizeof(*fdt));
	if (!blob || max_size < FDT_HDR_SIZE)
		return FDT_ERR_TRUNCATED;
	if (fdt32_ld(b + HDR_MAGIC) != FDT_MAGIC)
		return FDT_ERR_BADMAGIC;
	version = fdt32_ld(b + HDR_VERSION);
	if (version < 16 || fdt32_ld(b + HDR_LAST_COMP) > 17)
		return FDT_ERR_BADVERSION;
	total = fdt32_ld(b + HDR_TOTALSIZE);
	if (total > max_size || total < FDT_HDR_SIZE)
		return FDT_ERR_TRUNCATED;
	if (total > FDT_MAX_SIZE)
		return FDT_ERR_BADOFFSET;
	fdt->blob = b;
	fdt->size = total;
	fdt->off_struct = fdt32_ld(b + HDR_OFF_STRUCT);
	fdt->off_strings = fdt32_ld(b + HDR_OFF_STRINGS);
	fdt->size_strings = fdt32_ld(b + HDR_SIZE_STRINGS);
	fdt->off_rsvmap = fdt32_ld(b + HDR_OFF_RSVMAP);
	/* Version 16 has no size_dt_struct: the block may run to the end of the blob. */
	if (version >= 17)
		fdt->size_struct = fdt32_ld(b + HDR_SIZE_STRUCT);
	else if (fdt->off_struct <= total)
		fdt->size_struct = total - fdt->off_struct;
	if (!block_ok(fdt->off_struct, fdt->size_struct, total) ||
	    !IS_ALIGNED(fdt->off_struct, 4) ||
	    !block_ok(fdt->off_strings, fdt->size_strings, total) ||
	    !block_ok(fdt->off_rsvmap, 0, total) || !IS_ALIGNED(fdt->off_rsvmap, 8))
		err = FDT_ERR_BADOFFSET;
	else
		err = check_rsvmap(fdt);
	if (!err)
		err = check_structure(fdt);
	if (err)
		memset(fdt, 0, sizeof(*fdt)); /* an empty fdt: every accessor fails cleanly */
	return err;
}

int fdt_root(const struct fdt *fdt)
{
	struct fdt_tok t;
	int off = skip_nops(fdt, 0, &t);

	if (off < 0)
		return off;
	return t.tag == FDT_BEGIN_NODE ? off : FDT_ERR_BADSTRUCTURE;
}

/* Offset of the first token after a node's properties (a child, or its END_NODE). */
static int after_props(const struct fdt *fdt, int node, struct fdt_tok *t)
{
	int off, err = fdt_token(fdt, node, t);

	if (err)
		return err;
	if (t->tag != FDT_BEGIN_NODE)
		return FDT_ERR_BADOFFSET;
	off = t->next;
	for (;;) {
		off = skip_nops(fdt, off, t);
		if (off < 0 || t->tag != FDT_PROP)
			return off;
		off = t->next;
	}
}

int fdt_first_child(const struct fdt *fdt, int node)
{
	struct fdt_tok t;
	int off = after_props(fdt, node, &t);

	if (off < 0)
		return off;
	return t.tag == FDT_BEGIN_NODE ? off : FDT_ERR_NOTFOUND;
}

/* Offset just past the END_NODE that closes the node at node. */
static int node_end(const struct fdt *fdt, int node)
{
	struct fdt_tok t;
	int off, depth = 0;

	if (fdt_token(fdt, node, &t))
		return FDT_ERR_BADSTRUCTURE;
	if (t.tag != FDT_BEGIN_NODE)
		return FDT_ERR_BADOFFSET;
	/* Each token moves forward at least 4 bytes, so this ends at the block's end. */
	for (off = node;; off = t.next) {
		if (fdt_token(fdt, off, &t))
			return FDT_ERR_BADSTRUCTURE;
		if (t.tag == FDT_BEGIN_NODE)
			depth++;
		else if (t.tag == FDT_END_NODE && --depth == 0)
			return t.next;
		else if (t.tag == FDT_END)
			return FDT_ERR_BADSTRUCTURE;
	}
}

int fdt_next_sibling(const struct fdt *fdt, int node)
{
	struct fdt_tok t;
	int off = node_end(fdt, node);

	if (off < 0)
		return off;
	off = skip_nops(fdt, off, &t);
	if (off < 0)
		return off;
	return t.tag == FDT_BEGIN_NODE ? off : FDT_ERR_NOTFOUND;
}

const char *fdt_node_name(const struct fdt *fdt, int node, int *len)
{
	struct fdt_tok t;

	if (fdt_token(fdt, node, &t) || t.tag != FDT_BEGIN_NODE)
		return NULL;
	if (len)
		*len = (int)t.namelen;
	return t.name;
}

/* Child whose name is name[0..n) exactly, or whose name up to '@' is. */
static int subnode_n(const struct fdt *fdt, int node, const char *name, size_t n)
{
	int child, clen;
	const char *cname;

	for (child = fdt_first_child(fdt, node); child >= 0; child = fdt_next_sibling(fdt, child)) {
		cname = fdt_node_name(fdt, child, &clen);
		if (!cname || (size_t)clen < n || memcmp(cname, name, n) != 0)
			continue;
		if ((size_t)clen == n || cname[n] == '@')
			return child;
	}
	return child;
}

int fdt_subnode(const struct fdt *fdt, int node, const char *name)
{
	return subnode_n(fdt, node, name, strlen(name));
}

int fdt_path(const struct fdt *fdt, const char *path)
{
	int node = fdt_root(fdt);
	size_t n;

	if (path[0] != '/')
		return FDT_ERR_BADOFFSET;
	while (node >= 0) {
		while (*path == '/')
			path++;
		if (!*path)
			break;
		for (n = 0; path[n] && path[n] != '/'; n++)
			;
		node = subnode_n(fdt, node, path, n);
		path += n;
	}
	return node;
}

int fdt_first_prop(const struct fdt *fdt, int node)
{
	struct fdt_tok t;
	int off = fdt_token(fdt, node, &t);

	if (off)
		return off;
	if (t.tag != FDT_BEGIN_NODE)
		return FDT_ERR_BADOFFSET;
	off = skip_nops(fdt, t.next, &t);
	if (off < 0)
		return off;
	return t.tag == FDT_PROP ? off : FDT_ERR_NOTFOUND;
}

int fdt_next_prop(const struct fdt *fdt, int prop)
{
	struct fdt_tok t;
	int off = fdt_token(fdt, prop, &t);

	if (off)
		return off;
	if (t.tag != FDT_PROP)
		return FDT_ERR_BADOFFSET;
	off = skip_nops(fdt, t.next, &t);
	if (off < 0)
		return off;
	return t.tag == FDT_PROP ? off : FDT_ERR_NOTFOUND;
}

int fdt_prop_at(const struct fdt *fdt, int prop, const char **name, const void **val, int *len)
{
	struct fdt_tok t;
	int err = fdt_token(fdt, prop, &t);

	if (err)
		return err;
	if (t.tag != FDT_PROP)
		return FDT_ERR_BADOFFSET;
	if (name)
		*name = t.name;
	if (val)
		*val = t.val;
	if (len)
		*len = (int)t.len;
	return 0;
}

const void *fdt_getprop(const struct fdt *fdt, int node, const char *name, int *len)
{
	const char *pname;
	const void *val;
	int plen;

	for (int p = fdt_first_prop(fdt, node); p >= 0; p = fdt_next_prop(fdt, p)) {
		if (fdt_prop_at(fdt, p, &pname, &val, &plen) == 0 && strcmp(pname, name) == 0) {
			if (len)
				*len = plen;
			return val;
		}
	}
	return NULL;
}

bool fdt_read_u32(const struct fdt *fdt, int node, const char *name, u32 *out)
{
	int len;
	const void *v = fdt_getprop(fdt, node, name, &len);

	if (!v || len != 4)
		return false;
	*out = fdt32_ld(v);
	return true;
}

const char *fdt_read_string(const struct fdt *fdt, int node, const char *name)
{
	int len;
	const u8 *v = fdt_getprop(fdt, node, name, &len);

	if (!v || len <= 0 || bounded_strlen(v, (u64)len) < 0)
		return NULL;
	return (const char *)v;
}

bool fdt_is_compatible(const struct fdt *fdt, int node, const char *compat)
{
	int len;
	const u8 *v = fdt_getprop(fdt, node, "compatible", &len);
	s64 n;

	if (!v)
		return false;
	/* Walk the string list; each entry must be terminated inside the property. */
	for (u64 off = 0; off < (u64)len; off += (u64)n + 1) {
		n = bounded_strlen(v + off, (u64)len - off);
		if (n < 0)
			return false;
		if (strcmp((const char *)v + off, compat) == 0)
			return true;
	}
	return false;
}

int fdt_find_compatible(const struct fdt *fdt, int start, const char *compat)
{
	struct fdt_tok t;
	int off;

	if (start < 0) {
		off = fdt_root(fdt);
	} else {
		if (fdt_token(fdt, start, &t) || t.tag != FDT_BEGIN_NODE)
			return FDT_ERR_BADOFFSET;
		off = t.next;
	}
	/* Nodes appear in depth-first order in the block, so a linear scan is enough. */
	while (off >= 0) {
		if (fdt_token(fdt, off, &t))
			return FDT_ERR_BADSTRUCTURE;
		if (t.tag == FDT_END)
			return FDT_ERR_NOTFOUND;
		if (t.tag == FDT_BEGIN_NODE && fdt_is_compatible(fdt, off, compat))
			return off;
		off = t.next;
	}
	return off;
}

u32 fdt_address_cells(const struct fdt *fdt, int node)
{
	u32 v;

	return fdt_read_u32(fdt, node, "#address-cells", &v) ? v : 2;
}

u32 fdt_size_cells(const struct fdt *fdt, int node)
{
	u32 v;

	return fdt_read_u32(fdt, node, "#size-cells", &v) ? v : 1;
}

int fdt_parent(const struct fdt *fdt, int node)
{
	int stack[FDT_MAX_DEPTH];
	int depth = 0, off = fdt_root(fdt);
	struct fdt_tok t;

	while (off >= 0) {
		if (fdt_token(fdt, off, &t) || t.tag == FDT_END)
			return FDT_ERR_BADOFFSET;
		if (t.tag == FDT_BEGIN_NODE) {
			if (off == node)
				return depth > 0 ? stack[depth - 1] : FDT_ERR_NOTFOUND;
			if (depth >= FDT_MAX_DEPTH)
				return FDT_ERR_BADSTRUCTURE;
			stack[depth++] = off;
		} else if (t.tag == FDT_END_NODE) {
			if (--depth <= 0)
				return FDT_ERR_BADOFFSET; /* left the root: node is not a node */
		}
		off = t.next;
	}
	return off;
}

bool fdt_read_reg(const struct fdt *fdt, int node, int idx, u64 *base, u64 *size)
{
	int parent = fdt_parent(fdt, node), len;
	u32 ac, sc;
	const u8 *reg;
	u64 entry;

	if (parent < 0 || idx < 0)
		return false;
	ac = fdt_address_cells(fdt, parent);
	sc = fdt_size_cells(fdt, parent);
	if (ac < 1 || ac > 2 || sc > 2)
		return false;
	reg = fdt_getprop(fdt, node, "reg", &len);
	entry = 4 * (u64)(ac + sc);
	if (!reg || len < 0 || ((u64)idx + 1) * entry > (u64)len)
		return false;
	reg += (u64)idx * entry;
	*base = fdt_cells_ld(reg, ac);
	*size = sc ? fdt_cells_ld(reg + 4 * ac, sc) : 0;
	return true;
}

bool fdt_rsvmap(const struct fdt *fdt, int idx, u64 *addr, u64 *size)
{
	u64 off;

	if (idx < 0)
		return false;
	/* Walk from the start: the list ends at the first all-zero entry. */
	for (int i = 0; i <= idx; i++) {
		off = fdt->off_rsvmap + 16 * (u64)i;
		if (off + 16 > fdt->size)
			return false;
		*addr = fdt_cells_ld(fdt->blob + off, 2);
		*size = fdt_cells_ld(fdt->blob + off + 8, 2);
		if (*addr == 0 && *size == 0)
			return false;
	}
	return true;
}
