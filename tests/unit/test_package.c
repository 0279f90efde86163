/* Tests for the package reader (hyp/core/package.c) on packages built in memory, and an
 * end-to-end run of the built bhpack on good and bad configurations. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <bulkhead/config.h>
#include <bulkhead/package.h>

#include "unit.h"

#ifndef UNIT_BHPACK
#define UNIT_BHPACK "build/tools/bhpack"
#endif

struct pkgfile {
	const char *path;
	const void *data;
	u64 size;
};

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* A well-formed package (layout of docs/config.md) in a heap buffer of exactly *len bytes. */
static uint8_t *build(const struct pkgfile *f, u32 n, const char *dtb, u64 *len)
{
	u64 hdr = PKG_HDR_SIZE + (u64)n * PKG_ENTRY_SIZE, dtb_off = ALIGN_UP(hdr, PKG_ALIGN);
	u64 dtb_size = strlen(dtb), end = dtb_off + dtb_size, off[8];
	uint8_t *b;

	for (u32 i = 0; i < n; i++) {
		off[i] = ALIGN_UP(end, PKG_ALIGN);
		end = off[i] + f[i].size;
	}
	b = calloc(1, end);
	memcpy(b, PKG_MAGIC, PKG_MAGIC_LEN);
	put32(b + 8, (uint32_t)hdr);
	put32(b + 12, n);
	put64(b + 16, end);
	put64(b + 24, dtb_off);
	put64(b + 32, dtb_size);
	strcpy((char *)b + 40, "configs/test.dts");
	memcpy(b + dtb_off, dtb, dtb_size);
	for (u32 i = 0; i < n; i++) {
		uint8_t *e = b + PKG_HDR_SIZE + i * PKG_ENTRY_SIZE;

		strcpy((char *)e, f[i].path);
		put64(e + 128, off[i]);
		put64(e + 136, f[i].size);
		memcpy(b + off[i], f[i].data, f[i].size);
	}
	*len = end;
	return b;
}

static const struct pkgfile two_files[] = {
	{ "guests/hello.bin", "HELLO", 5 },
	{ "guests/smp.bin", "SMP-GUEST", 9 },
};

/* Offset of file table entry i. */
#define ENTRY(i) (PKG_HDR_SIZE + (i) * PKG_ENTRY_SIZE)

TEST(pkg_good)
{
	u64 len;
	uint8_t *b = build(two_files, 2, "DTB-BYTES", &len);
	struct pkg pkg;
	const char *why = "unset";
	const u8 *data;
	u64 size;

	CHECK_EQ(len, 3 * 4096 + 9);
	CHECK_EQ(pkg_open(&pkg, b, len, &why), 0);
	CHECK(why == NULL);
	CHECK_EQ(pkg.nr_files, 2);
	CHECK_EQ(pkg.size, len);
	CHECK(pkg.dtb == b + 4096);
	CHECK_EQ(pkg.dtb_size, 9);
	CHECK_STR(pkg.source, "configs/test.dts");
	CHECK(pkg_find(&pkg, "guests/smp.bin", &data, &size));
	CHECK_EQ(size, 9);
	CHECK(data == b + 3 * 4096);
	CHECK(!memcmp(data, "SMP-GUEST", 9));
	CHECK(pkg_find(&pkg, "guests/hello.bin", &data, &size));
	CHECK_EQ(size, 5);
	CHECK(!memcmp(data, "HELLO", 5));
	CHECK(!pkg_find(&pkg, "guests/hello", &data, &size));
	CHECK(!pkg_find(&pkg, "guests/hello.bin2", &data, &size));
	CHECK(!pkg_find(&pkg, "", &data, &size));
	/* A longer buffer than the package is fine (QEMU may round the initrd up). */
	CHECK_EQ(pkg_open(&pkg, b, len + 4096, &why), 0);
	free(b);
}

/* pkg_open on a copy of b cut to len bytes (exact heap size); returns the reason or "ok". */
static const char *open_copy(const uint8_t *b, u64 len)
{
	uint8_t *c = malloc(len ? len : 1);
	struct pkg pkg;
	const char *why = NULL;
	int r;

	memcpy(c, b, len);
	r = pkg_open(&pkg, c, len, &why);
	if (r == 0)
		why = "ok";
	else
		CHECK(pkg.nr_files == 0 &&
		      !pkg_find(&pkg, "guests/hello.bin", &(const u8 *){ 0 }, &(u64){ 0 }));
	free(c);
	return why;
}

TEST(pkg_truncated)
{
	u64 len;
	uint8_t *b = build(two_files, 2, "DTB-BYTES", &len);

	CHECK_STR(open_copy(b, 0), "truncated header");
	CHECK_STR(open_copy(b, PKG_HDR_SIZE - 1), "truncated header");
	CHECK_STR(open_copy(b, PKG_HDR_SIZE + 10), "truncated package");
	CHECK_STR(open_copy(b, len - 1), "truncated package");
	CHECK_STR(open_copy(b, len), "ok");
	CHECK_EQ(pkg_open(&(struct pkg){ 0 }, NULL, 0, NULL), -1);
	free(b);
}

/* Applies a 64-bit (or, with w == 4, 32-bit) store at off to a fresh package and opens it. */
static const char *open_with(u64 off, u64 val, int w)
{
	u64 len;
	uint8_t *b = build(two_files, 2, "DTB-BYTES", &len);
	const char *why;

	if (w == 4)
		put32(b + off, (uint32_t)val);
	else
		put64(b + off, val);
	why = open_copy(b, len);
	free(b);
	return why;
}

TEST(pkg_bad_header)
{
	CHECK_STR(open_with(0, 0x4b50484200000000ULL, 8), "bad magic");
	CHECK_STR(open_with(12, PKG_MAX_FILES + 1, 4), "too many files");
	CHECK_STR(open_with(12, 0xffffffff, 4), "too many files");
	CHECK_STR(open_with(12, 1, 4), "bad header size");
	CHECK_STR(open_with(8, PKG_HDR_SIZE + 2 * PKG_ENTRY_SIZE + 1, 4), "bad header size");
	CHECK_STR(open_with(16, 100, 8), "truncated package");
	CHECK_STR(open_with(16, UINT64_MAX, 8), "truncated package");
	CHECK_STR(open_with(24, 0, 8), "data outside the package"); /* inside the header */
	CHECK_STR(open_with(24, 1ULL << 40, 8), "data outside the package");
	CHECK_STR(open_with(24, 4096 + 8, 8), "data not 4 KiB aligned");
	CHECK_STR(open_with(32, 0, 8), "no configuration");
	CHECK_STR(open_with(32, UINT64_MAX, 8), "data outside the package");
	CHECK_STR(open_with(32, UINT64_MAX - 4095, 8), "data outside the package");
	CHECK_STR(open_with(32, 4096 * 3 + 9 - 4096 + 1, 8), "data outside the package");
	CHECK_STR(open_with(32, 4096 * 3 + 9 - 4096, 8), "ok"); /* the DTB may run to the end */
}

TEST(pkg_bad_entries)
{
	u64 len;
	uint8_t *b;

	CHECK_STR(open_with(ENTRY(1) + 128, 1ULL << 40, 8), "data outside the package");
	CHECK_STR(open_with(ENTRY(1) + 128, UINT64_MAX - 4095, 8), "data outside the package");
	CHECK_STR(open_with(ENTRY(1) + 136, UINT64_MAX, 8), "data outside the package");
	CHECK_STR(open_with(ENTRY(1) + 136, 10, 8), "data outside the package"); /* 1 byte over */
	CHECK_STR(open_with(ENTRY(0) + 128, 4096 + 16, 8), "data not 4 KiB aligned");
	CHECK_STR(open_with(ENTRY(0) + 128, 0, 8), "data outside the package");
	CHECK_STR(open_with(ENTRY(0), 0, 8), "empty file path");
	/* Path without a NUL in its 128 bytes. */
	b = build(two_files, 2, "DTB-BYTES", &len);
	memset(b + ENTRY(1), 'p', PKG_PATH_LEN);
	CHECK_STR(open_copy(b, len), "unterminated file path");
	memset(b + ENTRY(1), 0, PKG_PATH_LEN);
	strcpy((char *)b + ENTRY(1), "guests/hello.bin");
	CHECK_STR(open_copy(b, len), "two files with the same path");
	free(b);
	/* Source name without a NUL in its 64 bytes. */
	b = build(two_files, 2, "DTB-BYTES", &len);
	memset(b + 40, 'n', PKG_NAME_LEN);
	CHECK_STR(open_copy(b, len), "unterminated source name");
	free(b);
	/* No files at all is valid (a config whose VMs all failed to pack would not be). */
	b = build(two_files, 0, "DTB-BYTES", &len);
	CHECK_STR(open_copy(b, len), "ok");
	free(b);
}

/* ---- bhpack, end to end ---- */


static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len)
		unit_fail(__FILE__, __LINE__, "cannot write %s", path);
	if (f)
		fclose(f);
}

/* Reads dir/name (NUL-terminated, for text); NULL if absent. */
static char *read_text(const char *dir, const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = 0;
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

/* An arm64 Linux Image header with the given text_offset and image_size, padded to size. */
static void write_linux(const char *dir, const char *name, u64 text, u64 isize, size_t size)
{
	uint8_t *img = calloc(1, size);

	put64(img + 8, text);
	put64(img + 16, isize);
	memcpy(img + 0x38, "ARM\x64", 4);
	write_file(dir, name, img, size);
	free(img);
}

/* One VM node with one vCPU on physical CPU cpu, RAM of size mem at 1 GiB, and an image. */
#define VM(name, cpu, mem, img)                                                                    \
	"\t\t" name " { vcpus = <1>; pcpus = <" cpu ">; memory = <0x0 0x40000000 0x0 " mem ">; "   \
	"image = \"" img "\"; };\n"
#define HEAD "/dts-v1/;\n/ {\n\tcompatible = \"bulkhead,system-v1\";\n\tvms {\n"
#define TAIL "\t};\n};\n"

/* clang-format off */
static const char good_dts[] = HEAD
	VM("a", "0", "0x200000", "img/hello.bin")
	VM("b", "1", "0x200000", "img/hello.bin") /* the same file: packed once */
	VM("c", "0", "0x200000", "inc.bin")        /* found through -I */
	VM("d", "0", "0x400000", "linux/Image")    /* text_offset 0 + image_size 3 MiB fits */
	TAIL;

static const char bad_dts[] = HEAD
	VM("x", "0", "0x200000", "nope.bin")
	VM("y", "0", "0x200000", "big.bin")        /* 2 MiB + 1 byte */
	VM("z", "0", "0x400000", "linux/Image2")   /* text_offset 2 MiB + 3 MiB > 4 MiB */
	VM("w", "7", "0x200000", "inc.bin")
	VM("ok", "0", "0x200000", "inc.bin")
	TAIL;
/* clang-format on */

/* A scratch folder with the configs and images above; returns false if it cannot be made. */
static bool make_tree(char *dir)
{
	static uint8_t hello[5000], big[0x200001];

	strcpy(dir, "/tmp/bhpack-unit-XXXXXX");
	if (!mkdtemp(dir))
		return false;
	for (size_t i = 0; i < sizeof(hello); i++)
		hello[i] = (uint8_t)(i * 7);
	if (unit_sh("mkdir -p %s/img %s/inc %s/linux", dir, dir, dir))
		return false;
	write_file(dir, "config.dts", good_dts, strlen(good_dts));
	write_file(dir, "bad.dts", bad_dts, strlen(bad_dts));
	write_file(dir, "syntax.dts", "/dts-v1/;\n/ { vms { ;\n", 21);
	write_file(dir, "img/hello.bin", hello, sizeof(hello));
	write_file(dir, "inc/inc.bin", "INC", 3);
	write_file(dir, "big.bin", big, sizeof(big));
	write_linux(dir, "linux/Image", 0, 0x300000, 4096);
	write_linux(dir, "linux/Image2", 0x200000, 0x300000, 4096);
	return true;
}

/* Opens dir/out.pkg and checks its contents against the good config. */
static void check_good_package(const char *dir)
{
	size_t len = 0;
	char *b = read_text(dir, "out.pkg", &len), src[600];
	struct pkg pkg;
	const char *why;
	const u8 *data;
	u64 size;
	static struct cfg_system sys;
	static struct cfg_errors errs;

	if (!b) {
		unit_fail(__FILE__, __LINE__, "no package written");
		return;
	}
	CHECK_EQ(pkg_open(&pkg, b, len, &why), 0);
	CHECK_EQ(pkg.nr_files, 3); /* img/hello.bin is stored once */
	snprintf(src, sizeof(src), "%s/config.dts", dir);
	CHECK_STR(pkg.source, src);
	CHECK(pkg_find(&pkg, "img/hello.bin", &data, &size));
	CHECK_EQ(size, 5000);
	CHECK(size == 5000 && data[4999] == (uint8_t)(4999 * 7));
	CHECK_EQ((data - (const u8 *)b) % 4096, 0);
	CHECK(pkg_find(&pkg, "inc.bin", &data, &size) && size == 3 && !memcmp(data, "INC", 3));
	CHECK(pkg_find(&pkg, "linux/Image", &data, &size) && size == 4096);
	CHECK_EQ(config_parse(pkg.dtb, pkg.dtb_size, pkg.source, NULL, &sys, &errs), 0);
	CHECK_EQ(sys.nr_vms, 4);
	CHECK_EQ(sys.vm[1].pcpus[0], 1);
	free(b);
}

TEST(bhpack_end_to_end)
{
	char dir[64], *err;

	if (unit_sh("test -x %s", UNIT_BHPACK)) {
		unit_fail(__FILE__, __LINE__, "%s not built (make unit builds it)", UNIT_BHPACK);
		return;
	}
	if (!make_tree(dir)) {
		unit_fail(__FILE__, __LINE__, "cannot make a scratch folder");
		return;
	}
	/* Good: exit 0, a package, no temporary files left behind. */
	CHECK_EQ(unit_sh("%s -I %s/nothing -I %s/inc -o %s/out.pkg %s/config.dts 2>%s/err.txt",
		    UNIT_BHPACK, dir, dir, dir, dir, dir),
		 0);
	check_good_package(dir);
	CHECK_EQ(unit_sh("ls %s | grep -q tmp", dir), 1);
	/* --check, and a .dtb as input. */
	CHECK_EQ(unit_sh("%s --check -I %s/inc %s/config.dts >/dev/null", UNIT_BHPACK, dir, dir), 0);
	CHECK_EQ(unit_sh("dtc -q -I dts -O dtb -o %s/config.dtb %s/config.dts", dir, dir), 0);
	CHECK_EQ(unit_sh("%s --check -I %s/inc %s/config.dtb >/dev/null", UNIT_BHPACK, dir, dir), 0);
	/* Without -I the image in inc/ is missing. */
	CHECK_EQ(unit_sh("%s --check %s/config.dts 2>%s/err.txt", UNIT_BHPACK, dir, dir), 1);
	err = read_text(dir, "err.txt", NULL);
	CHECK_CONTAINS(err, "config.dts: vm 'c': field 'image': file 'inc.bin' not found\n");
	free(err);
	/* Bad: every error reported, exit 1, nothing written. */
	CHECK_EQ(unit_sh("%s --cpus 4 -I %s/inc -o %s/bad.pkg %s/bad.dts 2>%s/err.txt", UNIT_BHPACK, dir,
		    dir, dir, dir),
		 1);
	err = read_text(dir, "err.txt", NULL);
	CHECK_CONTAINS(err, "bad.dts: vm 'x': field 'image': file 'nope.bin' not found\n");
	CHECK_CONTAINS(err, "bad.dts: vm 'y': field 'image': file 'big.bin' is 0x200001 bytes, "
			    "more than memory (0x200000 bytes)\n");
	CHECK_CONTAINS(err, "bad.dts: vm 'z': field 'image': Linux Image 'linux/Image2' needs "
			    "0x500000 bytes (text_offset 0x200000 + size 0x300000) but memory "
			    "is 0x400000 bytes\n");
	CHECK_CONTAINS(err, "bad.dts: vm 'w': field 'pcpus': physical CPU 7 does not exist (the "
			    "machine has 4)\n");
	CHECK(err && !strstr(err, "vm 'ok'"));
	free(err);
	CHECK(read_text(dir, "bad.pkg", NULL) == NULL);
	/* dtc's failure, usage and I/O errors. */
	CHECK_EQ(unit_sh("%s -o %s/s.pkg %s/syntax.dts 2>%s/err.txt", UNIT_BHPACK, dir, dir, dir), 1);
	err = read_text(dir, "err.txt", NULL);
	CHECK_CONTAINS(err, "syntax.dts: dtc failed to compile the configuration");
	free(err);
	CHECK_EQ(unit_sh("%s 2>/dev/null", UNIT_BHPACK), 2);
	CHECK_EQ(unit_sh("%s %s/config.dts 2>/dev/null", UNIT_BHPACK, dir), 2); /* no -o */
	CHECK_EQ(unit_sh("%s --cpus x --check %s/config.dts 2>/dev/null", UNIT_BHPACK, dir), 2);
	CHECK_EQ(unit_sh("%s --check %s/none.dts 2>/dev/null", UNIT_BHPACK, dir), 2);
	CHECK_EQ(unit_sh("%s --help | grep -q usage", UNIT_BHPACK), 0);
	unit_sh("rm -rf %s", dir);
}
