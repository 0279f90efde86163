/* Tests for the FDT reader (hyp/lib/fdt.c): exact values from a dtc-compiled tree, exact errors
 * for corrupt copies and hand-built hostile blobs, and a mutation fuzz run under ASan. */
#include <stdlib.h>

#include <bulkhead/fdt.h>

#include "unit.h"

#ifndef UNIT_CONFIG_DIR
#define UNIT_CONFIG_DIR "build/unit/configs"
#endif

/* Reads UNIT_CONFIG_DIR/name (a compiled test blob). */
static uint8_t *load_dtb(const char *name, size_t *len)
{
	return unit_load(name, len);
}

/* fdt_init on a loaded blob; a failure is a test failure (and frees the blob). */
static bool init_ok(uint8_t *b, size_t len, struct fdt *fdt)
{
	if (!b)
		return false;
	if (fdt_init(fdt, b, len) != 0) {
		unit_fail(__FILE__, __LINE__, "fdt_init failed on a dtc-compiled blob");
		free(b);
		return false;
	}
	return true;
}

/* A heap copy of len bytes of src (exact size). */
static uint8_t *dup_blob(const uint8_t *src, size_t len)
{
	uint8_t *b = malloc(len ? len : 1);

	memcpy(b, src, len);
	return b;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Structure-block offset of the property token named name (searching the raw block). */
static int find_prop_token(const struct fdt *fdt, const char *name)
{
	for (int p = 0; p + 12 <= (int)fdt->size_struct; p += 4) {
		const uint8_t *t = fdt->blob + fdt->off_struct + p;
		uint32_t nameoff = fdt32_ld(t + 8);

		if (fdt32_ld(t) == 3 && nameoff < fdt->size_strings &&
		    strcmp((const char *)fdt->blob + fdt->off_strings + nameoff, name) == 0)
			return p;
	}
	return -1;
}

TEST(fdt_basic_header)
{
	size_t len;
	uint8_t *b = load_dtb("fdt_basic.dtb", &len);
	struct fdt fdt;
	int root;
	const char *name;
	int nlen = -1;

	if (!b)
		return;
	CHECK_EQ(fdt_init(&fdt, b, len), 0);
	CHECK_EQ(fdt_blob_size(b), len);
	CHECK_EQ(fdt.size, len);
	root = fdt_root(&fdt);
	CHECK_EQ(root, 0);
	name = fdt_node_name(&fdt, root, &nlen);
	CHECK_STR(name, "");
	CHECK_EQ(nlen, 0);
	/* Bigger max_size is fine; smaller is truncation. */
	CHECK_EQ(fdt_init(&fdt, b, len + 100), 0);
	CHECK_EQ(fdt_init(&fdt, b, len - 1), FDT_ERR_TRUNCATED);
	CHECK_EQ(fdt_init(&fdt, b, 39), FDT_ERR_TRUNCATED);
	free(b);
}

TEST(fdt_basic_walk)
{
	size_t len;
	uint8_t *b = load_dtb("fdt_basic.dtb", &len);
	const char *expect[] = { "chosen", "memory@40000000", "soc", "empty" };
	struct fdt fdt;
	int node, i = 0, nlen;

	if (!init_ok(b, len, &fdt))
		return;
	for (node = fdt_first_child(&fdt, fdt_root(&fdt)); node >= 0;
	     node = fdt_next_sibling(&fdt, node), i++) {
		if (i < 4)
			CHECK_STR(fdt_node_name(&fdt, node, &nlen), expect[i]);
	}
	CHECK_EQ(i, 4);
	CHECK_EQ(node, FDT_ERR_NOTFOUND);
	node = fdt_path(&fdt, "/empty");
	CHECK(node > 0);
	CHECK_EQ(fdt_first_child(&fdt, node), FDT_ERR_NOTFOUND);
	CHECK_EQ(fdt_first_prop(&fdt, node), FDT_ERR_NOTFOUND);
	CHECK_EQ(fdt_next_sibling(&fdt, node), FDT_ERR_NOTFOUND);
	/* Children of soc skip its properties. */
	node = fdt_first_child(&fdt, fdt_path(&fdt, "/soc"));
	CHECK_STR(fdt_node_name(&fdt, node, NULL), "uart@9000000");
	free(b);
}

TEST(fdt_basic_lookup)
{
	size_t len;
	uint8_t *b = load_dtb("fdt_basic.dtb", &len);
	struct fdt fdt;
	int root, mem, soc, u1, u2;

	if (!init_ok(b, len, &fdt))
		return;
	root = fdt_root(&fdt);
	mem = fdt_subnode(&fdt, root, "memory");
	CHECK(mem > 0);
	CHECK_EQ(fdt_subnode(&fdt, root, "memory@40000000"), mem);
	CHECK_EQ(fdt_subnode(&fdt, root, "memor"), FDT_ERR_NOTFOUND);
	CHECK_EQ(fdt_subnode(&fdt, root, "memory@4"), FDT_ERR_NOTFOUND);
	CHECK_EQ(fdt_path(&fdt, "/"), root);
	CHECK_EQ(fdt_path(&fdt, "/memory"), mem);
	soc = fdt_path(&fdt, "/soc");
	u1 = fdt_path(&fdt, "/soc/uart");
	u2 = fdt_path(&fdt, "/soc/uart@9010000");
	CHECK(soc > mem && u1 > soc && u2 > u1);
	CHECK_STR(fdt_node_name(&fdt, u1, NULL), "uart@9000000");
	CHECK_EQ(fdt_path(&fdt, "//soc//timer/"), fdt_subnode(&fdt, soc, "timer"));
	CHECK_EQ(fdt_path(&fdt, "/soc/nope"), FDT_ERR_NOTFOUND);
	CHECK_EQ(fdt_path(&fdt, "/nope/uart"), FDT_ERR_NOTFOUND);
	CHECK(fdt_path(&fdt, "soc") < 0);
	/* Parents. */
	CHECK_EQ(fdt_parent(&fdt, u2), soc);
	CHECK_EQ(fdt_parent(&fdt, soc), root);
	CHECK_EQ(fdt_parent(&fdt, root), FDT_ERR_NOTFOUND);
	CHECK(fdt_parent(&fdt, u2 + 4) < 0); /* inside a name: not a node */
	CHECK(fdt_parent(&fdt, 1 << 20) < 0);
	CHECK(fdt_node_name(&fdt, u2 + 4, NULL) == NULL);
	CHECK(fdt_node_name(&fdt, -4, NULL) == NULL);
	CHECK(fdt_first_child(&fdt, 3) < 0);
	CHECK(fdt_next_sibling(&fdt, (int)fdt.size_struct) < 0);
	free(b);
}

TEST(fdt_basic_props)
{
	size_t len;
	uint8_t *b = load_dtb("fdt_basic.dtb", &len);
	const char *expect[] = { "#address-cells", "#size-cells", "compatible", "model" };
	struct fdt fdt;
	int root, chosen, soc, n = 0, plen = -1, p;
	const char *name, *s;
	const void *val;
	uint32_t v = 0;

	if (!init_ok(b, len, &fdt))
		return;
	root = fdt_root(&fdt);
	for (p = fdt_first_prop(&fdt, root); p >= 0; p = fdt_next_prop(&fdt, p), n++) {
		CHECK_EQ(fdt_prop_at(&fdt, p, &name, &val, &plen), 0);
		if (n < 4)
			CHECK_STR(name, expect[n]);
	}
	CHECK_EQ(n, 4);
	CHECK_EQ(fdt_prop_at(&fdt, root, &name, &val, &plen), FDT_ERR_BADOFFSET);
	CHECK_EQ(fdt_next_prop(&fdt, root), FDT_ERR_BADOFFSET);
	chosen = fdt_path(&fdt, "/chosen");
	val = fdt_getprop(&fdt, chosen, "bootargs", &plen);
	CHECK(val != NULL);
	CHECK_EQ(plen, 16);
	CHECK_STR(fdt_read_string(&fdt, chosen, "bootargs"), "console=ttyAMA0");
	CHECK(fdt_getprop(&fdt, chosen, "bootarg", NULL) == NULL);
	CHECK(fdt_read_string(&fdt, chosen, "nope") == NULL);
	soc = fdt_path(&fdt, "/soc");
	CHECK(fdt_read_u32(&fdt, soc, "#size-cells", &v));
	CHECK_EQ(v, 1);
	CHECK(!fdt_read_u32(&fdt, fdt_path(&fdt, "/memory"), "reg", &v)); /* 16 bytes */
	CHECK(!fdt_read_u32(&fdt, soc, "nope", &v));
	s = fdt_read_string(&fdt, root, "model");
	CHECK_STR(s, "unit");
	free(b);
}

TEST(fdt_basic_compatible_and_reg)
{
	size_t len;
	uint8_t *b = load_dtb("fdt_basic.dtb", &len);
	struct fdt fdt;
	int root, u1, u2;
	uint64_t base = 0, size = 0, a = 0, s = 0;

	if (!init_ok(b, len, &fdt))
		return;
	root = fdt_root(&fdt);
	u1 = fdt_path(&fdt, "/soc/uart@9000000");
	u2 = fdt_path(&fdt, "/soc/uart@9010000");
	CHECK(fdt_is_compatible(&fdt, u1, "arm,pl011"));
	CHECK(fdt_is_compatible(&fdt, u1, "arm,primecell"));
	CHECK(!fdt_is_compatible(&fdt, u1, "arm,pl01"));
	CHECK(!fdt_is_compatible(&fdt, root, "arm,pl011"));
	CHECK_EQ(fdt_find_compatible(&fdt, -1, "arm,pl011"), u1);
	CHECK_EQ(fdt_find_compatible(&fdt, u1, "arm,pl011"), u2);
	CHECK_EQ(fdt_find_compatible(&fdt, u2, "arm,pl011"), FDT_ERR_NOTFOUND);
	CHECK_EQ(fdt_find_compatible(&fdt, -1, "test,root"), root);
	CHECK_EQ(fdt_find_compatible(&fdt, -1, "arm,armv8-timer"), fdt_path(&fdt, "/soc/timer"));
	CHECK_EQ(fdt_address_cells(&fdt, root), 2);
	CHECK_EQ(fdt_size_cells(&fdt, root), 2);
	CHECK_EQ(fdt_address_cells(&fdt, fdt_path(&fdt, "/chosen")), 2);
	CHECK_EQ(fdt_size_cells(&fdt, fdt_path(&fdt, "/chosen")), 1);
	CHECK(fdt_read_reg(&fdt, fdt_path(&fdt, "/memory"), 0, &base, &size));
	CHECK_EQ(base, 0x40000000);
	CHECK_EQ(size, 0x8000000);
	CHECK(fdt_read_reg(&fdt, u2, 1, &base, &size));
	CHECK_EQ(base, 0x9020000);
	CHECK_EQ(size, 0x2000);
	CHECK(!fdt_read_reg(&fdt, u2, 2, &base, &size));
	CHECK(!fdt_read_reg(&fdt, u2, -1, &base, &size));
	CHECK(!fdt_read_reg(&fdt, root, 0, &base, &size));
	CHECK(fdt_rsvmap(&fdt, 0, &a, &s));
	CHECK_EQ(a, 0x10000000);
	CHECK_EQ(s, 0x4000);
	CHECK(!fdt_rsvmap(&fdt, 1, &a, &s));
	CHECK(!fdt_rsvmap(&fdt, -1, &a, &s));
	free(b);
}

/* Applies one corruption to a copy of fdt_basic.dtb and returns fdt_init's result. */
static int init_corrupt(void (*corrupt)(uint8_t *b, size_t *len, const struct fdt *orig))
{
	size_t len, clen;
	uint8_t *b = load_dtb("fdt_basic.dtb", &len), *c;
	struct fdt orig, fdt;
	int r;

	if (!b || fdt_init(&orig, b, len))
		return 1;
	clen = len;
	c = dup_blob(b, len);
	corrupt(c, &clen, &orig);
	/* Copy again at the final length so the blob ends exactly where ASan can see it. */
	uint8_t *exact = dup_blob(c, clen);
	r = fdt_init(&fdt, exact, clen);
	if (r) /* a failed init leaves an fdt that every accessor refuses */
		CHECK(fdt_root(&fdt) < 0 && fdt_path(&fdt, "/soc") < 0);
	free(exact);
	free(c);
	free(b);
	return r;
}

static void c_magic(uint8_t *b, size_t *len, const struct fdt *o)
{
	(void)len, (void)o;
	b[0] ^= 0xff;
}

static void c_version(uint8_t *b, size_t *len, const struct fdt *o)
{
	(void)len, (void)o;
	put_be32(b + 20, 15);
}

static void c_last_comp(uint8_t *b, size_t *len, const struct fdt *o)
{
	(void)len, (void)o;
	put_be32(b + 24, 18);
}

static void c_totalsize(uint8_t *b, size_t *len, const struct fdt *o)
{
	(void)o;
	*len -= 8; /* the buffer is shorter than the header says */
	(void)b;
}

static void c_totalsize_small(uint8_t *b, size_t *len, const struct fdt *o)
{
	(void)len, (void)o;
	put_be32(b + 4, 20);
}

static void c_strings_out(uint8_t *b, size_t *len, const struct fdt *o)
{
	put_be32(b + 12, (uint32_t)*len - o->size_strings + 4);
}

static void c_struct_size(uint8_t *b, size_t *len, const struct fdt *o)
{
	(void)len, (void)o;
	put_be32(b + 36, 0xfffffff0);
}

static void c_struct_misaligned(uint8_t *b, size_t *len, const struct fdt *o)
{
	(void)len;
	put_be32(b + 8, o->off_struct + 2);
	put_be32(b + 36, o->size_struct - 4);
}

static void c_prop_len(uint8_t *b, size_t *len, const struct fdt *o)
{
	int p = find_prop_token(o, "bootargs");

	(void)len;
	put_be32(b + o->off_struct + p + 4, o->size_struct); /* runs past the block */
}

static void c_prop_len_huge(uint8_t *b, size_t *len, const struct fdt *o)
{
	int p = find_prop_token(o, "bootargs");

	(void)len;
	put_be32(b + o->off_struct + p + 4, 0xfffffffc);
}

static void c_prop_nameoff(uint8_t *b, size_t *len, const struct fdt *o)
{
	int p = find_prop_token(o, "bootargs");

	(void)len;
	put_be32(b + o->off_struct + p + 8, o->size_strings);
}

static void c_strings_unterminated(uint8_t *b, size_t *len, const struct fdt *o)
{
	(void)len;
	/* The last string in the block loses its NUL. */
	b[o->off_strings + o->size_strings - 1] = 'x';
}

static void c_bad_token(uint8_t *b, size_t *len, const struct fdt *o)
{
	int p = find_prop_token(o, "bootargs");

	(void)len;
	put_be32(b + o->off_struct + p, 7);
}

static void c_no_end(uint8_t *b, size_t *len, const struct fdt *o)
{
	(void)len;
	put_be32(b + o->off_struct + o->size_struct - 4, 4); /* FDT_END becomes a NOP */
}

static void c_rsvmap_unterminated(uint8_t *b, size_t *len, const struct fdt *o)
{
	(void)o;
	/* Point the map at the last 16 bytes of the blob: the strings, which are not zero. */
	put_be32(b + 16, (uint32_t)((*len - 16) & ~7u));
}

TEST(fdt_corrupt_header)
{
	CHECK_EQ(init_corrupt(c_magic), FDT_ERR_BADMAGIC);
	CHECK_EQ(init_corrupt(c_version), FDT_ERR_BADVERSION);
	CHECK_EQ(init_corrupt(c_last_comp), FDT_ERR_BADVERSION);
	CHECK_EQ(init_corrupt(c_totalsize), FDT_ERR_TRUNCATED);
	CHECK_EQ(init_corrupt(c_totalsize_small), FDT_ERR_TRUNCATED);
	CHECK_EQ(init_corrupt(c_strings_out), FDT_ERR_BADOFFSET);
	CHECK_EQ(init_corrupt(c_struct_size), FDT_ERR_BADOFFSET);
	CHECK_EQ(init_corrupt(c_struct_misaligned), FDT_ERR_BADOFFSET);
	CHECK_EQ(init_corrupt(c_rsvmap_unterminated), FDT_ERR_BADOFFSET);
}

TEST(fdt_corrupt_structure)
{
	CHECK_EQ(init_corrupt(c_prop_len), FDT_ERR_BADSTRUCTURE);
	CHECK_EQ(init_corrupt(c_prop_len_huge), FDT_ERR_BADSTRUCTURE);
	CHECK_EQ(init_corrupt(c_prop_nameoff), FDT_ERR_BADSTRUCTURE);
	CHECK_EQ(init_corrupt(c_strings_unterminated), FDT_ERR_BADSTRUCTURE);
	CHECK_EQ(init_corrupt(c_bad_token), FDT_ERR_BADSTRUCTURE);
	CHECK_EQ(init_corrupt(c_no_end), FDT_ERR_BADSTRUCTURE);
}

TEST(fdt_version16)
{
	size_t len;
	uint8_t *b = load_dtb("fdt_basic.dtb", &len);
	struct fdt fdt;

	if (!b)
		return;
	put_be32(b + 20, 16); /* no size_dt_struct: the block runs to the end of the blob */
	put_be32(b + 36, 0);
	CHECK_EQ(fdt_init(&fdt, b, len), 0);
	CHECK_STR(fdt_read_string(&fdt, fdt_path(&fdt, "/chosen"), "bootargs"), "console=ttyAMA0");
	free(b);
}

/* Accessors check each token themselves: a blob changed after fdt_init (say, by a guest that
 * can write it) gives errors, not reads past the end. */
TEST(fdt_accessors_after_corruption)
{
	size_t len;
	uint8_t *b = load_dtb("fdt_basic.dtb", &len);
	struct fdt fdt;
	int chosen, p, plen;

	if (!init_ok(b, len, &fdt))
		return;
	chosen = fdt_path(&fdt, "/chosen");
	p = find_prop_token(&fdt, "bootargs");
	put_be32(b + fdt.off_struct + p + 4, 0xfffffff0); /* length past the end */
	CHECK(fdt_getprop(&fdt, chosen, "bootargs", &plen) == NULL);
	CHECK(fdt_read_string(&fdt, chosen, "bootargs") == NULL);
	CHECK_EQ(fdt_next_sibling(&fdt, chosen), FDT_ERR_BADSTRUCTURE);
	put_be32(b + fdt.off_struct + p + 4, 16);
	put_be32(b + fdt.off_struct + p + 8, 0x7ffffff0); /* name outside the strings */
	CHECK(fdt_getprop(&fdt, chosen, "bootargs", &plen) == NULL);
	CHECK_EQ(fdt_first_prop(&fdt, chosen), FDT_ERR_BADSTRUCTURE);
	CHECK(fdt_path(&fdt, "/memory") < 0);
	put_be32(b + fdt.off_struct + p + 8, fdt.size_strings - 1); /* the last NUL */
	b[fdt.off_strings + fdt.size_strings - 1] = 'x'; /* ...now unterminated */
	CHECK(fdt_getprop(&fdt, chosen, "x", &plen) == NULL);
	free(b);
}

/* A hand-built blob: structure and strings blocks assembled token by token. */
struct fb {
	uint8_t st[4096];
	uint32_t slen;
	char str[1024];
	uint32_t strlen_;
};

static void fb_u32(struct fb *f, uint32_t v)
{
	put_be32(f->st + f->slen, v);
	f->slen += 4;
}

static void fb_bytes(struct fb *f, const void *p, uint32_t n)
{
	memcpy(f->st + f->slen, p, n);
	f->slen += n;
	while (f->slen % 4)
		f->st[f->slen++] = 0;
}

static void fb_begin(struct fb *f, const char *name)
{
	fb_u32(f, 1);
	fb_bytes(f, name, (uint32_t)strlen(name) + 1);
}

static void fb_prop(struct fb *f, const char *name, const void *val, uint32_t len)
{
	uint32_t off = f->strlen_;

	memcpy(f->str + off, name, strlen(name) + 1);
	f->strlen_ += (uint32_t)strlen(name) + 1;
	fb_u32(f, 3);
	fb_u32(f, len);
	fb_u32(f, off);
	fb_bytes(f, val, len);
}

/* The blob (header, empty reservation map, structure, strings) in an exact-size buffer. */
static uint8_t *fb_finish(const struct fb *f, size_t *len)
{
	uint32_t off_st = 56, off_str = off_st + f->slen, total = off_str + f->strlen_;
	uint8_t *b = calloc(1, total);

	put_be32(b, 0xd00dfeed);
	put_be32(b + 4, total);
	put_be32(b + 8, off_st);
	put_be32(b + 12, off_str);
	put_be32(b + 16, 40);
	put_be32(b + 20, 17);
	put_be32(b + 24, 16);
	put_be32(b + 32, f->strlen_);
	put_be32(b + 36, f->slen);
	memcpy(b + off_st, f->st, f->slen);
	memcpy(b + off_str, f->str, f->strlen_);
	*len = total;
	return b;
}

/* Builds a chain of depth nested nodes ("/n/n/n...") and returns fdt_init's result; on
 * success also checks that the deepest node's parent is found. */
static int nested(int depth)
{
	static struct fb f;
	struct fdt fdt;
	size_t len;
	uint8_t *b;
	int r, node, prev = -1;

	memset(&f, 0, sizeof(f));
	fb_begin(&f, "");
	for (int i = 1; i < depth; i++)
		fb_begin(&f, "n");
	for (int i = 0; i < depth; i++)
		fb_u32(&f, 2);
	fb_u32(&f, 9);
	b = fb_finish(&f, &len);
	r = fdt_init(&fdt, b, len);
	if (r == 0) {
		for (node = fdt_root(&fdt); node >= 0; node = fdt_first_child(&fdt, node))
			prev = node;
		CHECK_EQ(prev, 8 * (depth - 1)); /* "" and each "n" take 8 bytes */
		CHECK_EQ(fdt_parent(&fdt, prev), depth > 1 ? prev - 8 : FDT_ERR_NOTFOUND);
	}
	free(b);
	return r;
}

TEST(fdt_deep_nesting)
{
	CHECK_EQ(nested(1), 0);
	CHECK_EQ(nested(32), 0);
	CHECK_EQ(nested(33), FDT_ERR_BADSTRUCTURE);
	CHECK_EQ(nested(200), FDT_ERR_BADSTRUCTURE);
}

TEST(fdt_handbuilt_bad)
{
	struct fb f;
	struct fdt fdt;
	size_t len;
	uint8_t *b;
	uint32_t one = 0x01000000;

	/* Unterminated node name at the very end of the structure block. */
	memset(&f, 0, sizeof(f));
	fb_begin(&f, "");
	fb_u32(&f, 1);
	memcpy(f.st + f.slen, "abcd", 4);
	f.slen += 4;
	fb_prop(&f, "x", "", 0); /* strings block follows: "x\0" must not end the name */
	f.slen -= 12;
	b = fb_finish(&f, &len);
	CHECK_EQ(fdt_init(&fdt, b, len), FDT_ERR_BADSTRUCTURE);
	free(b);

	/* A property after a subnode. */
	memset(&f, 0, sizeof(f));
	fb_begin(&f, "");
	fb_begin(&f, "a");
	fb_u32(&f, 2);
	fb_prop(&f, "late", &one, 4);
	fb_u32(&f, 2);
	fb_u32(&f, 9);
	b = fb_finish(&f, &len);
	CHECK_EQ(fdt_init(&fdt, b, len), FDT_ERR_BADSTRUCTURE);
	free(b);

	/* Two roots; then an END_NODE too many; then a root that is a property. */
	memset(&f, 0, sizeof(f));
	fb_begin(&f, "");
	fb_u32(&f, 2);
	fb_begin(&f, "");
	fb_u32(&f, 2);
	fb_u32(&f, 9);
	b = fb_finish(&f, &len);
	CHECK_EQ(fdt_init(&fdt, b, len), FDT_ERR_BADSTRUCTURE);
	free(b);
	memset(&f, 0, sizeof(f));
	fb_prop(&f, "x", &one, 4);
	fb_u32(&f, 9);
	b = fb_finish(&f, &len);
	CHECK_EQ(fdt_init(&fdt, b, len), FDT_ERR_BADSTRUCTURE);
	free(b);

	/* NOPs are skipped everywhere; an unterminated compatible list is not compatible. */
	memset(&f, 0, sizeof(f));
	fb_u32(&f, 4);
	fb_begin(&f, "");
	fb_u32(&f, 4);
	fb_prop(&f, "compatible", "abc", 3);
	fb_u32(&f, 4);
	fb_begin(&f, "kid");
	fb_u32(&f, 2);
	fb_u32(&f, 4);
	fb_u32(&f, 2);
	fb_u32(&f, 4);
	fb_u32(&f, 9);
	b = fb_finish(&f, &len);
	CHECK_EQ(fdt_init(&fdt, b, len), 0);
	CHECK_EQ(fdt_root(&fdt), 4);
	CHECK(!fdt_is_compatible(&fdt, fdt_root(&fdt), "abc"));
	CHECK(fdt_read_string(&fdt, fdt_root(&fdt), "compatible") == NULL);
	CHECK_STR(fdt_node_name(&fdt, fdt_first_child(&fdt, fdt_root(&fdt)), NULL), "kid");
	CHECK_EQ(fdt_path(&fdt, "/kid"), fdt_first_child(&fdt, fdt_root(&fdt)));
	CHECK_EQ(fdt_next_sibling(&fdt, fdt_path(&fdt, "/kid")), FDT_ERR_NOTFOUND);
	free(b);
}

/* Calls every accessor on every node of an initialised (possibly mutated) tree. */
static void walk_all(const struct fdt *fdt, int node, int depth)
{
	const char *name;
	const void *val;
	int len, n = 0;
	uint64_t a, s;
	uint32_t v;

	if (depth > 40) {
		unit_fail(__FILE__, __LINE__, "walk deeper than fdt_init allows");
		return;
	}
	fdt_node_name(fdt, node, &len);
	fdt_parent(fdt, node);
	fdt_read_reg(fdt, node, 0, &a, &s);
	fdt_read_reg(fdt, node, 1, &a, &s);
	fdt_is_compatible(fdt, node, "arm,pl011");
	fdt_read_u32(fdt, node, "#size-cells", &v);
	fdt_read_string(fdt, node, "model");
	fdt_subnode(fdt, node, "uart");
	for (int p = fdt_first_prop(fdt, node); p >= 0 && n < 1000; p = fdt_next_prop(fdt, p), n++)
		fdt_prop_at(fdt, p, &name, &val, &len);
	for (int c = fdt_first_child(fdt, node); c >= 0 && n < 2000;
	     c = fdt_next_sibling(fdt, c), n++)
		walk_all(fdt, c, depth + 1);
}

TEST(fdt_fuzz_mutations)
{
	size_t len;
	uint8_t *b = load_dtb("fdt_basic.dtb", &len);
	uint32_t seed = 12345;
	int accepted = 0;

	if (!b)
		return;
	for (int iter = 0; iter < 3000; iter++) {
		size_t clen = len;
		uint8_t *c;
		struct fdt fdt;

		if (iter % 10 == 0) /* sometimes also cut the blob short */
			clen = len - 1 - (seed >> 8) % (len - 1);
		c = dup_blob(b, clen);
		for (int k = 0; k < 1 + iter % 4; k++) {
			seed = seed * 1103515245 + 12345;
			c[(seed >> 8) % clen] ^= (uint8_t)(1u << ((seed >> 4) & 7));
		}
		if (fdt_init(&fdt, c, clen) == 0) {
			accepted++;
			walk_all(&fdt, fdt_root(&fdt), 0);
			fdt_path(&fdt, "/soc/uart@9010000");
			for (int n = fdt_find_compatible(&fdt, -1, "arm,pl011"), i = 0;
			     n >= 0 && i < 100; n = fdt_find_compatible(&fdt, n, "arm,pl011"), i++)
				;
		}
		free(c);
	}
	CHECK(accepted > 0); /* flips in values still leave a valid tree */
	free(b);
}
