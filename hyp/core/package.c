/* Validates a system package (docs/config.md, "The system package") and finds files in it.
 * The package comes from outside the hypervisor, so every field is checked before use. */
#include <bulkhead/package.h>
#include <bulkhead/string.h>

/* Header field offsets. */
#define PKG_OFF_HDR_SIZE 8
#define PKG_OFF_NR_FILES 12
#define PKG_OFF_TOTAL 16
#define PKG_OFF_DTB 24
#define PKG_OFF_DTB_SIZE 32
#define PKG_OFF_NAME 40
/* File table entry field offsets. */
#define ENT_DATA_OFF PKG_PATH_LEN
#define ENT_DATA_SIZE (PKG_PATH_LEN + 8)

/* Little-endian loads (the package may sit at any alignment). */
static u32 le32(const u8 *p)
{
	return (u32)p[0] | ((u32)p[1] << 8) | ((u32)p[2] << 16) | ((u32)p[3] << 24);
}

static u64 le64(const u8 *p)
{
	return le32(p) | ((u64)le32(p + 4) << 32);
}

/* True if a NUL occurs in s[0..max). */
static bool terminated(const u8 *s, size_t max)
{
	for (size_t i = 0; i < max; i++)
		if (!s[i])
			return true;
	return false;
}

/* Checks that a data block lies after the header, inside the package, on a 4 KiB boundary. */
static const char *check_block(u64 off, u64 size, u64 hdr_size, u64 total)
{
	if (off < hdr_size || off > total || size > total - off)
		return "data outside the package";
	if (!IS_ALIGNED(off, PKG_ALIGN))
		return "data not 4 KiB aligned";
	return NULL;
}

/* Address of file table entry i. */
static const u8 *entry(const struct pkg *pkg, u32 i)
{
	return pkg->base + PKG_HDR_SIZE + (u64)i * PKG_ENTRY_SIZE;
}

/* Checks every file table entry: terminated, non-empty, unique path; data inside. */
static const char *check_files(const struct pkg *pkg, u64 hdr_size)
{
	const char *why;

	for (u32 i = 0; i < pkg->nr_files; i++) {
		const u8 *e = entry(pkg, i);

		if (!terminated(e, PKG_PATH_LEN))
			return "unterminated file path";
		if (!e[0])
			return "empty file path";
		why = check_block(le64(e + ENT_DATA_OFF), le64(e + ENT_DATA_SIZE), hdr_size,
				  pkg->size);
		if (why)
			return why;
		for (u32 j = 0; j < i; j++)
			if (strcmp((const char *)e, (const char *)entry(pkg, j)) == 0)
				return "two files with the same path";
	}
	return NULL;
}

/* Checks the fixed header fields and fills pkg; the file table is checked afterwards. */
static const char *check_header(struct pkg *pkg, const u8 *b, u64 len, u64 *hdr_size)
{
	u64 total, dtb_off, dtb_size;
	const char *why;

	if (len < PKG_HDR_SIZE)
		return "truncated header";
	if (memcmp(b, PKG_MAGIC, PKG_MAGIC_LEN) != 0)
		return "bad magic";
	pkg->nr_files = le32(b + PKG_OFF_NR_FILES);
	if (pkg->nr_files > PKG_MAX_FILES)
		return "too many files";
	*hdr_size = le32(b + PKG_OFF_HDR_SIZE);
	if (*hdr_size != PKG_HDR_SIZE + (u64)pkg->nr_files * PKG_ENTRY_SIZE)
		return "bad header size";
	total = le64(b + PKG_OFF_TOTAL);
	if (total > len || total < *hdr_size)
		return "truncated package";
	if (!terminated(b + PKG_OFF_NAME, PKG_NAME_LEN))
		return "unterminated source name";
	dtb_off = le64(b + PKG_OFF_DTB);
	dtb_size = le64(b + PKG_OFF_DTB_SIZE);
	if (!dtb_size)
		return "no configuration";
	why = check_block(dtb_off, dtb_size, *hdr_size, total);
	if (why)
		return why;
	pkg->size = total;
	pkg->dtb = b + dtb_off;
	pkg->dtb_size = dtb_size;
	memcpy(pkg->source, b + PKG_OFF_NAME, PKG_NAME_LEN);
	return NULL;
}

int pkg_open(struct pkg *pkg, const void *base, u64 len, const char **why)
{
	u64 hdr_size = 0;
	const char *reason;

	memset(pkg, 0, sizeof(*pkg));
	pkg->base = base;
	reason = base ? check_header(pkg, base, len, &hdr_size) : "no package";
	if (!reason)
		reason = check_files(pkg, hdr_size);
	if (reason) {
		memset(pkg, 0, sizeof(*pkg));
		if (why)
			*why = reason;
		return -1;
	}
	if (why)
		*why = NULL;
	return 0;
}

bool pkg_find(const struct pkg *pkg, const char *path, const u8 **data, u64 *size)
{
	for (u32 i = 0; i < pkg->nr_files; i++) {
		const u8 *e = entry(pkg, i);

		if (strcmp((const char *)e, path) != 0)
			continue;
		*data = pkg->base + le64(e + ENT_DATA_OFF);
		*size = le64(e + ENT_DATA_SIZE);
		return true;
	}
	return false;
}
