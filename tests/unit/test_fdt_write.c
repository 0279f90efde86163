/* Tests for the FDT writer (hyp/lib/fdt_write.c): a tree written and read back with the
 * hypervisor's own reader, property by property; every buffer size too small fails without a
 * byte written past the buffer; property names stored once; calls out of order refused. */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>

#include <bulkhead/fdt.h>
#include <bulkhead/fdt_write.h>

#include "unit.h"

#define CANARY 0xA5
#define CANARY_LEN 64

/* Writes the test tree; returns fdtw_finish()'s result. */
static int write_tree(void *buf, u32 size)
{
	static const char *const compat[] = { "arm,pl011", "arm,primecell" };
	static const u32 cells[3] = { 0, 1, 4 };
	static const u8 bin[5] = { 1, 0, 0xff, 0, 2 };
	struct fdtw w;

	fdtw_init(&w, buf, size);
	fdtw_begin_node(&w, "");
	fdtw_prop_u32(&w, "#address-cells", 2);
	fdtw_prop_u32(&w, "#size-cells", 2);
	fdtw_prop_string(&w, "model", "unit tree");
	fdtw_begin_node(&w, "uart@9000000");
	fdtw_prop_strings(&w, "compatible", compat, 2);
	fdtw_prop_cells(&w, "interrupts", cells, 3);
	fdtw_prop_u64(&w, "reg", 0x123456789abcdef0ULL);
	fdtw_prop_empty(&w, "always-on");
	fdtw_prop(&w, "binary", bin, sizeof(bin));
	fdtw_begin_node(&w, "child");
	fdtw_prop_u32(&w, "reg", 7);
	fdtw_end_node(&w);
	fdtw_begin_node(&w, "empty");
	fdtw_end_node(&w);
	fdtw_end_node(&w);
	fdtw_begin_node(&w, "chosen");
	fdtw_prop_string(&w, "model", "");
	fdtw_prop_strings(&w, "compatible", NULL, 0);
	fdtw_end_node(&w);
	fdtw_end_node(&w);
	return fdtw_finish(&w);
}

/* Reads property name of node as cells; checks its length and each cell. */
static void check_cells(const struct fdt *fdt, int node, const char *name, const u32 *want,
			int n)
{
	int len = -1;
	const u8 *v = fdt_getprop(fdt, node, name, &len);

	if (!v || len != 4 * n) {
		unit_fail(__FILE__, __LINE__, "property '%s': %p, length %d (want %d cells)", name,
			  (const void *)v, len, n);
		return;
	}
	for (int i = 0; i < n; i++)
		if (fdt32_ld(v + 4 * i) != want[i])
			unit_fail(__FILE__, __LINE__, "property '%s' cell %d: 0x%x != 0x%x", name, i,
				  fdt32_ld(v + 4 * i), want[i]);
}

/* Number of properties of a node. */
static int count_props(const struct fdt *fdt, int node)
{
	int n = 0;

	for (int p = fdt_first_prop(fdt, node); p >= 0; p = fdt_next_prop(fdt, p))
		n++;
	return n;
}

TEST(fdtw_read_back)
{
	static const u32 irq[3] = { 0, 1, 4 }, reg[2] = { 0x12345678, 0x9abcdef0 };
	static u8 buf[4096];
	struct fdt fdt;
	const u8 *v;
	const char *name;
	int size, root, uart, node, len, nlen;
	u32 x;

	memset(buf, 0xee, sizeof(buf));
	size = write_tree(buf, sizeof(buf));
	CHECK(size > 0);
	if (size <= 0)
		return;
	CHECK_EQ(fdt_blob_size(buf), (u32)size);
	CHECK_EQ(fdt32_ld(buf + 20), 17);  /* version */
	CHECK_EQ(fdt32_ld(buf + 24), 16);  /* last compatible version */
	CHECK_EQ(fdt32_ld(buf + 8) % 4, 0); /* structure block aligned */
	CHECK_EQ(fdt32_ld(buf + 16) % 8, 0); /* reservation map aligned */
	CHECK_EQ(fdt_init(&fdt, buf, (u64)size), 0);
	CHECK_EQ(fdt_init(&fdt, buf, (u64)size - 1), FDT_ERR_TRUNCATED);
	CHECK_EQ(fdt_init(&fdt, buf, (u64)size), 0);
	CHECK(!fdt_rsvmap(&fdt, 0, &(u64){ 0 }, &(u64){ 0 })); /* empty reservation map */

	root = fdt_root(&fdt);
	CHECK(root >= 0);
	name = fdt_node_name(&fdt, root, &nlen);
	CHECK(name && nlen == 0);
	CHECK_EQ(count_props(&fdt, root), 3);
	CHECK(fdt_read_u32(&fdt, root, "#address-cells", &x) && x == 2);
	CHECK(fdt_read_u32(&fdt, root, "#size-cells", &x) && x == 2);
	CHECK_STR(fdt_read_string(&fdt, root, "model"), "unit tree");

	uart = fdt_path(&fdt, "/uart@9000000");
	CHECK(uart >= 0);
	CHECK_EQ(fdt_subnode(&fdt, root, "uart"), uart);
	CHECK_EQ(fdt_first_child(&fdt, root), uart);
	name = fdt_node_name(&fdt, uart, &nlen);
	CHECK(name && nlen == 12 && !memcmp(name, "uart@9000000", 12));
	CHECK_EQ(count_props(&fdt, uart), 5);
	v = fdt_getprop(&fdt, uart, "compatible", &len);
	CHECK(v && len == 24 && !memcmp(v, "arm,pl011\0arm,primecell", 24));
	CHECK(fdt_is_compatible(&fdt, uart, "arm,pl011"));
	CHECK(fdt_is_compatible(&fdt, uart, "arm,primecell"));
	check_cells(&fdt, uart, "interrupts", irq, 3);
	check_cells(&fdt, uart, "reg", reg, 2);
	v = fdt_getprop(&fdt, uart, "always-on", &len);
	CHECK(v && len == 0);
	v = fdt_getprop(&fdt, uart, "binary", &len);
	CHECK(v && len == 5 && !memcmp(v, "\x01\x00\xff\x00\x02", 5));

	node = fdt_path(&fdt, "/uart@9000000/child");
	CHECK(node >= 0);
	CHECK(fdt_read_u32(&fdt, node, "reg", &x) && x == 7);
	CHECK_EQ(fdt_parent(&fdt, node), uart);
	node = fdt_next_sibling(&fdt, node);
	name = fdt_node_name(&fdt, node, &nlen);
	CHECK(name && nlen == 5 && !memcmp(name, "empty", 5));
	CHECK_EQ(count_props(&fdt, node), 0);
	CHECK_EQ(fdt_first_child(&fdt, node), FDT_ERR_NOTFOUND);
	CHECK_EQ(fdt_next_sibling(&fdt, node), FDT_ERR_NOTFOUND);

	node = fdt_path(&fdt, "/chosen");
	CHECK(node >= 0);
	CHECK_EQ(fdt_next_sibling(&fdt, uart), node);
	CHECK_EQ(fdt_next_sibling(&fdt, node), FDT_ERR_NOTFOUND);
	CHECK_STR(fdt_read_string(&fdt, node, "model"), "");
	v = fdt_getprop(&fdt, node, "compatible", &len);
	CHECK(v && len == 0);
	CHECK_EQ(fdt_path(&fdt, "/nothing"), FDT_ERR_NOTFOUND);
}

/* The strings block holds each property name once (and a name that ends another one shares
 * its bytes). */
TEST(fdtw_strings_deduplicated)
{
	static u8 buf[2048];
	static const char names[] = "#address-cells\0#size-cells\0model\0compatible\0interrupts\0"
				    "reg\0always-on\0binary\0";
	struct fdtw w;
	struct fdt fdt;
	const u8 *strings;
	int size;

	CHECK((size = write_tree(buf, sizeof(buf))) > 0);
	CHECK_EQ(fdt_init(&fdt, buf, (u64)size), 0);
	CHECK_EQ(fdt.size_strings, sizeof(names) - 1);
	strings = buf + fdt.off_strings;
	for (const char *n = names; *n; n += strlen(n) + 1) {
		int found = 0;

		for (u32 i = 0; i + strlen(n) < fdt.size_strings; i++)
			found += !memcmp(strings + i, n, strlen(n) + 1) &&
				 (i == 0 || strings[i - 1] == 0);
		if (found != 1)
			unit_fail(__FILE__, __LINE__, "'%s' is in the strings block %d times", n,
				  found);
	}

	/* Tails: "cells" and "size-cells" reuse "#size-cells". */
	fdtw_init(&w, buf, sizeof(buf));
	fdtw_begin_node(&w, "");
	fdtw_prop_u32(&w, "#size-cells", 1);
	fdtw_prop_u32(&w, "size-cells", 2);
	fdtw_prop_u32(&w, "cells", 3);
	fdtw_prop_u32(&w, "#size-cells", 4); /* a repeated property: the writer does not care */
	fdtw_end_node(&w);
	size = fdtw_finish(&w);
	CHECK(size > 0);
	CHECK_EQ(fdt_init(&fdt, buf, (u64)size), 0);
	CHECK_EQ(fdt.size_strings, 12);
	{
		int prop = fdt_first_prop(&fdt, fdt_root(&fdt)), len;
		static const char *const want[] = { "#size-cells", "size-cells", "cells",
						    "#size-cells" };
		const char *pname;
		const void *val;

		for (u32 i = 0; i < 4; i++, prop = fdt_next_prop(&fdt, prop)) {
			CHECK(prop >= 0 && !fdt_prop_at(&fdt, prop, &pname, &val, &len));
			if (prop < 0)
				break;
			CHECK_STR(pname, want[i]);
			CHECK(len == 4 && fdt32_ld(val) == i + 1);
		}
		CHECK_EQ(prop, FDT_ERR_NOTFOUND);
	}
}

/* Every size from 0 to one byte short fails with NOSPACE, writing nothing past the buffer
 * (a canary after it, and an exact-size heap block for ASan); the exact size and larger ones
 * give the same blob. */
TEST(fdtw_overflow_every_size)
{
	static u8 ref[4096];
	int real = write_tree(ref, sizeof(ref));

	CHECK(real > 0);
	if (real <= 0)
		return;
	for (u32 n = 0; n <= (u32)real + 8; n++) {
		u8 *b = malloc(n + CANARY_LEN), *exact = malloc(n ? n : 1);
		int r;

		memset(b, CANARY, n + CANARY_LEN);
		r = write_tree(b, n);
		if (n < (u32)real) {
			if (r != FDTW_ERR_NOSPACE)
				unit_fail(__FILE__, __LINE__, "size %u: finish gave %d", n, r);
		} else if (r != real || memcmp(b, ref, (size_t)real)) {
			unit_fail(__FILE__, __LINE__, "size %u: finish gave %d, want %d", n, r,
				  real);
		}
		for (u32 i = n; i < n + CANARY_LEN; i++)
			if (b[i] != CANARY) {
				unit_fail(__FILE__, __LINE__, "size %u: byte %u written", n, i);
				break;
			}
		r = write_tree(n ? exact : NULL, n); /* ASan catches any write past n */
		CHECK(n < (u32)real ? r == FDTW_ERR_NOSPACE : r == real);
		free(b);
		free(exact);
	}
}

TEST(fdtw_order_errors)
{
	static u8 buf[1024];
	struct fdtw w;

	/* A property outside any node. */
	fdtw_init(&w, buf, sizeof(buf));
	CHECK_EQ(fdtw_prop_u32(&w, "x", 1), FDTW_ERR_STATE);
	CHECK_EQ(fdtw_begin_node(&w, ""), FDTW_ERR_STATE); /* sticky */
	CHECK_EQ(fdtw_finish(&w), FDTW_ERR_STATE);

	/* A property after a subnode. */
	fdtw_init(&w, buf, sizeof(buf));
	CHECK_EQ(fdtw_begin_node(&w, ""), 0);
	CHECK_EQ(fdtw_begin_node(&w, "a"), 0);
	CHECK_EQ(fdtw_end_node(&w), 0);
	CHECK_EQ(fdtw_prop_u32(&w, "late", 1), FDTW_ERR_STATE);
	CHECK_EQ(fdtw_end_node(&w), FDTW_ERR_STATE);
	CHECK_EQ(fdtw_finish(&w), FDTW_ERR_STATE);

	/* Unbalanced: too many end_node, or finish with a node open, or no root at all. */
	fdtw_init(&w, buf, sizeof(buf));
	CHECK_EQ(fdtw_end_node(&w), FDTW_ERR_STATE);
	fdtw_init(&w, buf, sizeof(buf));
	fdtw_begin_node(&w, "");
	fdtw_begin_node(&w, "a");
	fdtw_end_node(&w);
	CHECK_EQ(fdtw_finish(&w), FDTW_ERR_STATE);
	fdtw_init(&w, buf, sizeof(buf));
	CHECK_EQ(fdtw_finish(&w), FDTW_ERR_STATE);

	/* A second root. */
	fdtw_init(&w, buf, sizeof(buf));
	fdtw_begin_node(&w, "");
	fdtw_end_node(&w);
	CHECK_EQ(fdtw_begin_node(&w, ""), FDTW_ERR_STATE);

	/* Names: the root has none, the others must; a property needs one. */
	fdtw_init(&w, buf, sizeof(buf));
	CHECK_EQ(fdtw_begin_node(&w, "root"), FDTW_ERR_NAME);
	fdtw_init(&w, buf, sizeof(buf));
	fdtw_begin_node(&w, "");
	CHECK_EQ(fdtw_begin_node(&w, ""), FDTW_ERR_NAME);
	fdtw_init(&w, buf, sizeof(buf));
	fdtw_begin_node(&w, "");
	CHECK_EQ(fdtw_prop_u32(&w, "", 1), FDTW_ERR_NAME);
	fdtw_init(&w, buf, sizeof(buf));
	fdtw_begin_node(&w, "");
	CHECK_EQ(fdtw_begin_node(&w, NULL), FDTW_ERR_NAME);
	CHECK_EQ(fdtw_prop_u32(&w, "x", 1), FDTW_ERR_NAME); /* the first error stays */

	/* NULL data with a length. */
	fdtw_init(&w, buf, sizeof(buf));
	fdtw_begin_node(&w, "");
	CHECK_EQ(fdtw_prop(&w, "x", NULL, 4), FDTW_ERR_STATE);

	/* Nothing after finish; finish once. */
	fdtw_init(&w, buf, sizeof(buf));
	fdtw_begin_node(&w, "");
	fdtw_end_node(&w);
	CHECK(fdtw_finish(&w) > 0);
	CHECK_EQ(fdtw_finish(&w), FDTW_ERR_STATE);
	fdtw_init(&w, buf, sizeof(buf));
	fdtw_begin_node(&w, "");
	fdtw_end_node(&w);
	CHECK(fdtw_finish(&w) > 0);
	CHECK_EQ(fdtw_prop_u32(&w, "x", 1), FDTW_ERR_STATE);
}

/* The smallest blob: an empty root, and what dtc makes of a written tree. */
TEST(fdtw_empty_root_and_dtc)
{
	static u8 buf[256];
	struct fdtw w;
	struct fdt fdt;
	char path[] = "/tmp/fdtw-unit-XXXXXX", cmd[256];
	int size, fd;
	FILE *f;

	fdtw_init(&w, buf, sizeof(buf));
	fdtw_begin_node(&w, "");
	fdtw_end_node(&w);
	size = fdtw_finish(&w);
	CHECK_EQ(size, 40 + 16 + 4 + 4 + 4 + 4); /* header, rsvmap, BEGIN "" END_NODE END */
	CHECK_EQ(fdt_init(&fdt, buf, (u64)size), 0);
	CHECK_EQ(fdt_first_prop(&fdt, fdt_root(&fdt)), FDT_ERR_NOTFOUND);

	static u8 tree[4096];
	size = write_tree(tree, sizeof(tree));
	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0 || size <= 0)
		return;
	f = fdopen(fd, "wb");
	CHECK(f && fwrite(tree, 1, (size_t)size, f) == (size_t)size);
	if (f)
		fclose(f);
	snprintf(cmd, sizeof(cmd), "dtc -q -I dtb -O dts -o /dev/null %s", path);
	CHECK_EQ(system(cmd), 0);
	remove(path);
}
