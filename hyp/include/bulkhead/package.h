/* The system package: the compiled configuration plus the images it names, as written by
 * bhpack and loaded by QEMU as the "initrd". Layout in docs/config.md. */
#ifndef BULKHEAD_PACKAGE_H
#define BULKHEAD_PACKAGE_H

#include <bulkhead/types.h>

#define PKG_MAGIC "BHPKG\0v1"
#define PKG_MAGIC_LEN 8
#define PKG_NAME_LEN 64
#define PKG_PATH_LEN 128
#define PKG_HDR_SIZE 104
#define PKG_ENTRY_SIZE 144
#define PKG_ALIGN 4096
#define PKG_MAX_FILES 128

struct pkg {
	const u8 *base;
	u64 size;
	const u8 *dtb;
	u64 dtb_size;
	u32 nr_files;
	char source[PKG_NAME_LEN];
};

/* Validates a package of at most len bytes at base. Returns 0, or -1 with a reason in
 * *why (a static string). */
int pkg_open(struct pkg *pkg, const void *base, u64 len, const char **why);
/* Finds a file by its path; returns true and its bytes. */
bool pkg_find(const struct pkg *pkg, const char *path, const u8 **data, u64 *size);

#endif
