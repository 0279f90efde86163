/* bhctl's configuration checks for `create`: dtc, the hypervisor's parser (config*.c built
 * with -DBH_HOST), one VM and no channels, then each file the VM names (resolved like bhpack). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bulkhead/fdt.h>
#include <bulkhead/image.h>

#include "../common/hostfile.h"
#include "bhctl.h"
#include "cfgfile.h"

/* Compiles a .dts with dtc (messages printed); 0 or EXIT_FAIL. */
static int compile_config(const char *path, uint8_t **dtb, uint64_t *size)
{
	return host_compile_dts("bhctl", path, dtb, size) == HOST_DTC_OK ? 0 : EXIT_FAIL;
}

/* The folder part of path ("" if none, "/" for "/x"), for resolving the files it names. */
static char *resolve(const char *config, const char *path)
{
	const char *slash = strrchr(config, '/');
	size_t dirlen = slash ? (size_t)(slash - config) + (slash == config) : 0;
	size_t n = dirlen + strlen(path) + 2;
	char *r = malloc(n);

	if (!r)
		return NULL;
	if (path[0] == '/' || dirlen == 0)
		snprintf(r, n, "%s", path);
	else if (dirlen == 1 && config[0] == '/')
		snprintf(r, n, "/%s", path);
	else
		snprintf(r, n, "%.*s/%s", (int)dirlen, config, path);
	return r;
}

/* Adds a file the VM names: resolved, must exist, be a regular file and not be empty. */
static struct cf_blob *add_blob(struct cfgfile *cf, uint32_t blob, const char *field,
				const char *path, int *status)
{
	struct cf_blob *b = &cf->blob[cf->nr_blobs];
	const char *why = NULL;
	struct stat st;

	b->resolved = resolve(cf->path, path);
	if (!b->resolved) {
		fprintf(stderr, "bhctl: out of memory\n");
		*status = EXIT_FAIL;
		return NULL;
	}
	if (stat(b->resolved, &st) < 0)
		why = strerror(errno);
	else if (S_ISDIR(st.st_mode))
		why = "is a folder";
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	if (why) {
		fprintf(stderr, "%s: vm '%s': field '%s': '%s': %s\n", cf->path, cf->vm->name,
			field, b->resolved, why);
		free(b->resolved);
		*status = EXIT_FAIL;
		return NULL;
	}
	if (st.st_size == 0) {
		fprintf(stderr, "%s: vm '%s': field '%s': '%s' is empty\n", cf->path,
			cf->vm->name, field, b->resolved);
		free(b->resolved);
		*status = EXIT_FAIL;
		return NULL;
	}
	b->blob = blob;
	snprintf(b->field, sizeof(b->field), "%s", field);
	b->size = (uint64_t)st.st_size;
	cf->nr_blobs++;
	return b;
}

/* The image must fit in RAM where the hypervisor will put it; with an initrd, the image, the
 * initrd and 2 MiB for the device tree must fit together (bhpack's rules). */
static void check_fit(struct cfgfile *cf, const struct cf_blob *img, const struct cf_blob *rd,
		      int *status)
{
	const struct cfg_vm *vm = cf->vm;
	uint8_t hdr[64] = { 0 };
	struct image_place pl = { 0 };
	const char *why;
	int fd = open(img->resolved, O_RDONLY);

	if (fd < 0 || read(fd, hdr, sizeof(hdr)) < 0) {
		fprintf(stderr, "%s: vm '%s': field 'image': '%s': %s\n", cf->path, vm->name,
			img->resolved, strerror(errno));
		if (fd >= 0)
			close(fd);
		*status = EXIT_FAIL;
		return;
	}
	close(fd);
	why = image_place(hdr, img->size, vm->ram.size, &pl);
	if (why) {
		fprintf(stderr, "%s: vm '%s': field 'image': '%s' (0x%llx bytes%s): %s (memory is "
			"0x%llx bytes)\n", cf->path, vm->name, img->resolved,
			(unsigned long long)(pl.linux ? pl.offset + pl.span : img->size),
			pl.linux ? " from the RAM base" : "", why, (unsigned long long)vm->ram.size);
		*status = EXIT_FAIL;
		return;
	}
	if (rd && pl.offset + pl.span + rd->size + CFG_DTB_MAX > vm->ram.size) {
		fprintf(stderr,
			"%s: vm '%s': field 'initrd': the image (0x%llx bytes from the RAM base), "
			"initrd '%s' (0x%llx bytes) and 2 MiB for the device tree do not fit in "
			"memory (0x%llx bytes)\n",
			cf->path, vm->name, (unsigned long long)(pl.offset + pl.span), rd->resolved,
			(unsigned long long)rd->size, (unsigned long long)vm->ram.size);
		*status = EXIT_FAIL;
	}
}

/* A VM's own device tree: a valid blob of at most 2 MiB. */
static void check_dtb(struct cfgfile *cf, const struct cf_blob *b, int *status)
{
	uint8_t *data;
	uint64_t size;
	struct fdt fdt;
	int err;

	if (b->size > CFG_DTB_MAX) {
		fprintf(stderr, "%s: vm '%s': field 'dtb': '%s' is 0x%llx bytes (at most 2 MiB)\n",
			cf->path, cf->vm->name, b->resolved, (unsigned long long)b->size);
		*status = EXIT_FAIL;
		return;
	}
	if (host_read_file(b->resolved, &data, &size) < 0) {
		fprintf(stderr, "%s: vm '%s': field 'dtb': '%s': %s\n", cf->path, cf->vm->name,
			b->resolved, strerror(errno));
		*status = EXIT_FAIL;
		return;
	}
	err = fdt_init(&fdt, data, size);
	if (err) {
		fprintf(stderr, "%s: vm '%s': field 'dtb': '%s' is not a valid device tree blob "
			"(%s)\n", cf->path, cf->vm->name, b->resolved, config_fdt_reason(err));
		*status = EXIT_FAIL;
	}
	free(data);
}

/* Resolves and checks each file the VM names. */
static int check_files(struct cfgfile *cf)
{
	const struct cfg_vm *vm = cf->vm;
	struct cf_blob *img = NULL, *rd = NULL, *dtb = NULL;
	int status = 0;

	if (vm->image)
		img = add_blob(cf, BHC_BLOB_IMAGE, "image", vm->image, &status);
	if (vm->initrd)
		rd = add_blob(cf, BHC_BLOB_INITRD, "initrd", vm->initrd, &status);
	if (vm->dtb && (dtb = add_blob(cf, BHC_BLOB_DTB, "dtb", vm->dtb, &status)))
		check_dtb(cf, dtb, &status);
	if (img)
		check_fit(cf, img, rd, &status);
	for (uint32_t i = 0; i < vm->nr_disks; i++) {
		const struct cfg_disk *d = &vm->disk[i];
		uint64_t max = d->size ? d->size : CFG_DISK_MAX;
		struct cf_blob *b;
		char field[32];

		if (!d->image)
			continue;
		snprintf(field, sizeof(field), "virtio-blk@%u/image", d->slot);
		b = add_blob(cf, BHC_BLOB_DISK0 + i, field, d->image, &status);
		if (b && b->size > max) {
			fprintf(stderr, "%s: vm '%s': field '%s': '%s' is 0x%llx bytes, more than "
				"the disk (0x%llx bytes)\n", cf->path, vm->name, field, b->resolved,
				(unsigned long long)b->size, (unsigned long long)max);
			status = EXIT_FAIL;
		}
	}
	return status;
}

/* bhctl creates one VM at a time, and channels are made at boot only. */
static int check_shape(struct cfgfile *cf)
{
	struct fdt fdt;
	int root;

	if (cf->sys.nr_vms != 1) {
		fprintf(stderr, "%s: field '/vms': %u VMs defined (bhctl create takes exactly one)\n",
			cf->path, cf->sys.nr_vms);
		return EXIT_FAIL;
	}
	if (!fdt_init(&fdt, cf->dtb, cf->dtb_size) && (root = fdt_root(&fdt)) >= 0 &&
	    fdt_subnode(&fdt, root, "channels") >= 0) {
		fprintf(stderr, "%s: field '/channels': channels are made at boot only; remove it "
			"to create vm '%s' at run time\n", cf->path, cf->sys.vm[0].name);
		return EXIT_FAIL;
	}
	cf->vm = &cf->sys.vm[0];
	return 0;
}

int cf_load(struct cfgfile *cf, const char *path, uint32_t nr_pcpus)
{
	struct cfg_limits lim = { .nr_pcpus = nr_pcpus };
	static struct cfg_errors errs;
	int rc;

	memset(cf, 0, sizeof(*cf));
	cf->path = path;
	if (host_read_file(path, &cf->dtb, &cf->dtb_size) < 0) {
		fprintf(stderr, "bhctl: cannot read '%s': %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	if (cf->dtb_size < 4 || memcmp(cf->dtb, "\xd0\x0d\xfe\xed", 4)) {
		free(cf->dtb);
		cf->dtb = NULL;
		if ((rc = compile_config(path, &cf->dtb, &cf->dtb_size)))
			return rc;
	}
	if (cf->dtb_size > BHC_MAX_PAYLOAD - sizeof(struct bhc_create)) {
		fprintf(stderr, "%s: the compiled configuration is %llu bytes (at most %zu)\n", path,
			(unsigned long long)cf->dtb_size,
			(size_t)(BHC_MAX_PAYLOAD - sizeof(struct bhc_create)));
		return EXIT_FAIL;
	}
	memset(&errs, 0, sizeof(errs));
	if (config_parse(cf->dtb, cf->dtb_size, path, &lim, &cf->sys, &errs)) {
		for (uint32_t i = 0; i < errs.count && i < CFG_MAX_ERRORS; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		if (errs.dropped)
			fprintf(stderr, "%s: %u more errors\n", path, errs.dropped);
		return EXIT_FAIL;
	}
	if ((rc = check_shape(cf)))
		return rc;
	return check_files(cf);
}

void cf_free(struct cfgfile *cf)
{
	for (unsigned i = 0; i < cf->nr_blobs; i++)
		free(cf->blob[i].resolved);
	free(cf->dtb);
	memset(cf, 0, sizeof(*cf));
}
