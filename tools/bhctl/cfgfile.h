/* bhctl's view of a configuration file for `create`: compiled, validated with the hypervisor's
 * own parser, with the files it names resolved next to it and checked. */
#ifndef BHCTL_CFGFILE_H
#define BHCTL_CFGFILE_H

#include <bulkhead/config.h>

#define CF_MAX_BLOBS (3 + CFG_MAX_VIRTIO)

/* One file to stream with BHC_LOAD. */
struct cf_blob {
	uint32_t blob;      /* enum bhc_blob */
	char field[32];     /* "image", "virtio-blk@1/image", ... for messages */
	char *resolved;     /* the path bhctl opens */
	uint64_t size;
};

struct cfgfile {
	const char *path;   /* as given on the command line */
	uint8_t *dtb;       /* the compiled configuration */
	uint64_t dtb_size;
	struct cfg_system sys;
	const struct cfg_vm *vm; /* the one VM */
	struct cf_blob blob[CF_MAX_BLOBS];
	unsigned nr_blobs;
};

/* Loads and checks path; nr_pcpus 0: not known. Prints every error (file: vm: field: reason).
 * Returns 0, EXIT_FAIL (configuration or file errors) or EXIT_USAGE (unreadable file). */
int cf_load(struct cfgfile *cf, const char *path, uint32_t nr_pcpus);
void cf_free(struct cfgfile *cf);

#endif
