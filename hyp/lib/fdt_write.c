/* Flattened device tree writer (see bulkhead/fdt_write.h).
 *
 * Layout while writing: the header and the (empty) memory reservation map are left blank at the
 * start of the buffer, the structure block grows upwards after them, and the strings block grows
 * downwards from the end of the buffer. A property's name offset is recorded meanwhile as the
 * string's distance from the end of the buffer (which does not change as strings are added);
 * fdtw_finish() moves the strings block down after the structure block and rewrites each name
 * offset relative to it. Every write is checked against the gap between the two blocks. */
#include <bulkhead/fdt_write.h>
#include <bulkhead/string.h>

#define FDT_MAGIC 0xd00dfeedU
#define FDT_VERSION 17U
#define FDT_LAST_COMP_VERSION 16U
#define FDT_HDR_SIZE 40U
#define FDT_RSVMAP_OFF FDT_HDR_SIZE /* 8-byte aligned */
#define FDT_RSVMAP_SIZE 16U         /* just the terminating empty entry */
#define FDT_STRUCT_OFF (FDT_RSVMAP_OFF + FDT_RSVMAP_SIZE)
#define FDTW_MAX_SIZE 0x40000000U /* 1 GiB: what the reader accepts; sizes fit an int */

#define FDT_BEGIN_NODE 1U
#define FDT_END_NODE 2U
#define FDT_PROP 3U
#define FDT_END 9U

static void put_be32(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 24);
	p[1] = (u8)(v >> 16);
	p[2] = (u8)(v >> 8);
	p[3] = (u8)v;
}

static u32 get_be32(const u8 *p)
{
	return ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3];
}

/* Records the first error; returns the sticky one. */
static int fail(struct fdtw *w, int err)
{
	if (!w->err)
		w->err = err;
	return w->err;
}

/* Bytes free between the structure block and the strings block. */
static u64 gap(const struct fdtw *w)
{
	u64 top = (u64)w->size - w->strings_len;

	return top > w->off ? top - w->off : 0;
}

/* Reserves n bytes (n rounded up to 4, the padding zeroed) at the end of the structure block.
 * Returns the start, or NULL after recording FDTW_ERR_NOSPACE. */
static u8 *reserve(struct fdtw *w, u64 n)
{
	u64 padded = ALIGN_UP(n, 4);
	u8 *p;

	if (padded > gap(w)) {
		fail(w, FDTW_ERR_NOSPACE);
		return NULL;
	}
	p = w->buf + w->off;
	if (padded > n)
		memset(p + n, 0, (size_t)(padded - n));
	w->off += (u32)padded;
	return p;
}

/* True (after recording the error) if no token may be written now. */
static bool blocked(struct fdtw *w)
{
	if (w->err)
		return true;
	if (w->finished) {
		fail(w, FDTW_ERR_STATE);
		return true;
	}
	return false;
}

/* Finds name in the strings block (as a whole string or the tail of a longer one) or adds it.
 * Returns its distance from the end of the buffer, or 0 after recording the error. */
static u32 add_string(struct fdtw *w, const char *name, size_t len)
{
	const u8 *strings = w->buf + w->size - w->strings_len;

	for (u64 i = 0; len + 1 <= w->strings_len && i <= w->strings_len - (len + 1); i++)
		if (!memcmp(strings + i, name, len + 1))
			return w->strings_len - (u32)i;
	if (len + 1 > gap(w)) {
		fail(w, FDTW_ERR_NOSPACE);
		return 0;
	}
	w->strings_len += (u32)(len + 1);
	memcpy(w->buf + w->size - w->strings_len, name, len + 1);
	return w->strings_len;
}

int fdtw_begin_node(struct fdtw *w, const char *name)
{
	size_t len;
	u8 *p;

	if (blocked(w))
		return w->err;
	if (!name)
		return fail(w, FDTW_ERR_NAME);
	if (w->root_done)
		return fail(w, FDTW_ERR_STATE); /* a second root */
	len = strlen(name);
	if ((w->depth == 0) != (len == 0)) /* the root has no name, every other node has one */
		return fail(w, FDTW_ERR_NAME);
	p = reserve(w, 4 + (u64)len + 1);
	if (!p)
		return w->err;
	put_be32(p, FDT_BEGIN_NODE);
	memcpy(p + 4, name, len + 1);
	w->depth++;
	w->after_end = false;
	return 0;
}

int fdtw_end_node(struct fdtw *w)
{
	u8 *p;

	if (blocked(w))
		return w->err;
	if (w->depth == 0)
		return fail(w, FDTW_ERR_STATE);
	p = reserve(w, 4);
	if (!p)
		return w->err;
	put_be32(p, FDT_END_NODE);
	if (--w->depth == 0)
		w->root_done = true;
	w->after_end = true;
	return 0;
}

/* Writes a property's token and name and reserves len bytes for its value, which the caller
 * fills. Returns the value's start, or NULL after recording the error. */
static u8 *prop_begin(struct fdtw *w, const char *name, u64 len)
{
	u32 dist;
	u8 *p;

	if (blocked(w))
		return NULL;
	if (!name || !name[0]) {
		fail(w, FDTW_ERR_NAME);
		return NULL;
	}
	if (w->depth == 0 || w->after_end) { /* outside a node, or after a subnode */
		fail(w, FDTW_ERR_STATE);
		return NULL;
	}
	if (len > FDTW_MAX_SIZE) {
		fail(w, FDTW_ERR_NOSPACE);
		return NULL;
	}
	dist = add_string(w, name, strlen(name));
	if (!dist)
		return NULL;
	p = reserve(w, 12 + len);
	if (!p)
		return NULL;
	put_be32(p, FDT_PROP);
	put_be32(p + 4, (u32)len);
	put_be32(p + 8, dist); /* rewritten by fdtw_finish */
	return p + 12;
}

int fdtw_prop(struct fdtw *w, const char *name, const void *data, u32 len)
{
	u8 *p;

	if (len && !data)
		return fail(w, FDTW_ERR_STATE);
	p = prop_begin(w, name, len);
	if (p && len)
		memcpy(p, data, len);
	return w->err;
}

int fdtw_prop_empty(struct fdtw *w, const char *name)
{
	return fdtw_prop(w, name, NULL, 0);
}

int fdtw_prop_u32(struct fdtw *w, const char *name, u32 v)
{
	return fdtw_prop_cells(w, name, &v, 1);
}

int fdtw_prop_u64(struct fdtw *w, const char *name, u64 v)
{
	u32 cells[2] = { (u32)(v >> 32), (u32)v };

	return fdtw_prop_cells(w, name, cells, 2);
}

int fdtw_prop_cells(struct fdtw *w, const char *name, const u32 *cells, u32 n)
{
	u8 *p;

	if (n && !cells)
		return fail(w, FDTW_ERR_STATE);
	p = prop_begin(w, name, 4 * (u64)n);
	for (u32 i = 0; p && i < n; i++)
		put_be32(p + 4 * i, cells[i]);
	return w->err;
}

int fdtw_prop_string(struct fdtw *w, const char *name, const char *s)
{
	return fdtw_prop_strings(w, name, &s, 1);
}

int fdtw_prop_strings(struct fdtw *w, const char *name, const char *const *list, u32 n)
{
	u64 total = 0;
	u8 *p;

	if (n && !list)
		return fail(w, FDTW_ERR_STATE);
	for (u32 i = 0; i < n; i++) {
		if (!list[i])
			return fail(w, FDTW_ERR_STATE);
		total += strlen(list[i]) + 1;
	}
	p = prop_begin(w, name, total);
	for (u32 i = 0; p && i < n; i++) {
		size_t len = strlen(list[i]) + 1;

		memcpy(p, list[i], len);
		p += len;
	}
	return w->err;
}

void fdtw_init(struct fdtw *w, void *buf, u32 size)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->size = buf ? MIN(size, FDTW_MAX_SIZE) : 0;
	w->off = FDT_STRUCT_OFF;
}

/* Rewrites every property's name offset (a distance from the buffer's end while writing) as
 * an offset into the strings block of strings_len bytes. */
static int fix_name_offsets(struct fdtw *w, u32 strings_len)
{
	u32 off = FDT_STRUCT_OFF;

	while (off + 4 <= w->off) {
		u32 tag = get_be32(w->buf + off), len, dist;

		if (tag == FDT_BEGIN_NODE) {
			u32 n = off + 4;

			while (n < w->off && w->buf[n])
				n++;
			off = (u32)ALIGN_UP(n + 1, 4);
		} else if (tag == FDT_PROP) {
			if (off + 12 > w->off)
				return FDTW_ERR_STATE;
			len = get_be32(w->buf + off + 4);
			dist = get_be32(w->buf + off + 8);
			if (dist == 0 || dist > strings_len)
				return FDTW_ERR_STATE;
			put_be32(w->buf + off + 8, strings_len - dist);
			off = (u32)ALIGN_UP((u64)off + 12 + len, 4);
		} else if (tag == FDT_END_NODE || tag == FDT_END) {
			off += 4;
		} else {
			return FDTW_ERR_STATE;
		}
	}
	return off == w->off ? 0 : FDTW_ERR_STATE;
}

int fdtw_finish(struct fdtw *w)
{
	u32 struct_size, strings_off, total;
	u8 *p;
	int err;

	if (blocked(w))
		return w->err;
	if (!w->root_done) /* no root, or nodes still open */
		return fail(w, FDTW_ERR_STATE);
	p = reserve(w, 4);
	if (!p)
		return w->err;
	put_be32(p, FDT_END);
	struct_size = w->off - FDT_STRUCT_OFF;
	strings_off = w->off;
	total = strings_off + w->strings_len;
	err = fix_name_offsets(w, w->strings_len);
	if (err)
		return fail(w, err);
	memmove(w->buf + strings_off, w->buf + w->size - w->strings_len, w->strings_len);
	memset(w->buf, 0, FDT_STRUCT_OFF); /* header and the empty reservation map */
	put_be32(w->buf + 0, FDT_MAGIC);
	put_be32(w->buf + 4, total);
	put_be32(w->buf + 8, FDT_STRUCT_OFF);
	put_be32(w->buf + 12, strings_off);
	put_be32(w->buf + 16, FDT_RSVMAP_OFF);
	put_be32(w->buf + 20, FDT_VERSION);
	put_be32(w->buf + 24, FDT_LAST_COMP_VERSION);
	put_be32(w->buf + 28, 0); /* boot_cpuid_phys */
	put_be32(w->buf + 32, w->strings_len);
	put_be32(w->buf + 36, struct_size);
	w->finished = true;
	return (int)total;
}
