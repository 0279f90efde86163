/* bhctl create: checks a configuration locally, then CREATE, one LOAD per chunk of each file
 * the VM names, and START; anything failing after CREATE destroys the VM again. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bhctl.h"
#include "cfgfile.h"

/* The physical CPUs the configuration names must exist (only the hypervisor knows how many). */
static int check_pcpus(const struct cfgfile *cf, uint32_t nr_pcpus)
{
	int rc = 0;

	for (uint32_t i = 0; i < cf->vm->vcpus; i++)
		if (nr_pcpus && cf->vm->pcpus[i] >= nr_pcpus) {
			fprintf(stderr, "%s: vm '%s': field 'pcpus': physical CPU %u does not exist "
				"(the machine has %u)\n", cf->path, cf->vm->name, cf->vm->pcpus[i],
				nr_pcpus);
			rc = EXIT_FAIL;
		}
	return rc;
}

/* The configuration's name for the hypervisor's messages: the path, or its last part. */
static void file_name(char *dst, size_t cap, const char *path)
{
	const char *base = strrchr(path, '/');

	if (strlen(path) >= cap && base)
		path = base + 1;
	snprintf(dst, cap, "%s", path);
}

/* Streams one file with BHC_LOAD, in order. */
static int load_blob(struct ctx *c, uint32_t id, const char *vmname, const struct cf_blob *b)
{
	static uint8_t buf[LOAD_CHUNK];
	struct bhc_load ld = { .id = id, .blob = b->blob, .offset = 0 };
	char what[96];
	int fd = open(b->resolved, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "bhctl: vm '%s': field '%s': '%s': %s\n", vmname, b->field,
			b->resolved, strerror(errno));
		return EXIT_FAIL;
	}
	snprintf(what, sizeof(what), "load '%s' (%s)", b->resolved, b->field);
	while (ld.offset < b->size) {
		uint64_t want = b->size - ld.offset < LOAD_CHUNK ? b->size - ld.offset : LOAD_CHUNK;
		size_t got = 0;
		int rc;

		while (got < want) {
			ssize_t n = read(fd, buf + got, (size_t)want - got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				fprintf(stderr, "bhctl: '%s': %s\n", b->resolved,
					n < 0 ? strerror(errno) : "the file shrank while loading");
				close(fd);
				return EXIT_FAIL;
			}
			got += (size_t)n;
		}
		rc = op_simple(c, BHC_LOAD, &ld, sizeof(ld), buf, got, what, NULL);
		if (rc) {
			close(fd);
			return rc;
		}
		ld.offset += got;
	}
	close(fd);
	return 0;
}

/* Sends CREATE; on success *id is the new VM's. */
static int send_create(struct ctx *c, const struct cfgfile *cf, bool paused, uint32_t *id)
{
	struct bhc_create cr;
	struct bhc_vm_ref ref;
	struct reply r;
	int rc;

	memset(&cr, 0, sizeof(cr));
	file_name(cr.file, sizeof(cr.file), cf->path);
	cr.config_size = (uint32_t)cf->dtb_size;
	cr.flags = paused ? BHC_CREATE_F_PAUSED : 0;
	for (unsigned i = 0; i < cf->nr_blobs; i++) {
		const struct cf_blob *b = &cf->blob[i];

		if (b->blob == BHC_BLOB_IMAGE)
			cr.image_size = b->size;
		else if (b->blob == BHC_BLOB_INITRD)
			cr.initrd_size = b->size;
		else if (b->blob == BHC_BLOB_DTB)
			cr.dtb_size = b->size;
		else
			cr.disk_size[b->blob - BHC_BLOB_DISK0] = b->size;
	}
	rc = op_simple(c, BHC_CREATE, &cr, sizeof(cr), cf->dtb, cf->dtb_size, "create", &r);
	if (rc)
		return rc;
	if (r.len != sizeof(ref)) {
		fprintf(stderr, "bhctl: protocol error: CREATE reply holds %zu bytes, expected %zu\n",
			r.len, sizeof(ref));
		reply_free(&r);
		return EXIT_CHAN;
	}
	memcpy(&ref, r.data, sizeof(ref));
	reply_free(&r);
	*id = ref.id;
	return 0;
}

/* After a failure: nothing half-created stays behind. */
static void undo_create(struct ctx *c, uint32_t id, const char *name)
{
	struct bhc_vm_ref ref = { .id = id };

	if (op_simple(c, BHC_DESTROY, &ref, sizeof(ref), NULL, 0, "destroy", NULL))
		fprintf(stderr, "bhctl: vm %u '%s' could not be destroyed after the failure; "
			"`bhctl destroy %u` may remove it\n", id, name, id);
	else
		fprintf(stderr, "bhctl: vm %u '%s' destroyed (not created)\n", id, name);
}

int cmd_create(struct ctx *c, int argc, char **argv)
{
	const struct command *cmd = find_command("create");
	const char *file = NULL;
	struct bhc_vm_ref ref;
	struct bhc_hello h;
	struct cfgfile cf;
	bool paused = false;
	uint32_t id;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-p") && !file)
			paused = true;
		else if (!strcmp(argv[i], "--") && !file && i + 1 < argc)
			file = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1] && !file)
			return usage_error(cmd, "unknown option '%s'", argv[i]);
		else if (file)
			return usage_error(cmd, "one configuration file at a time");
		else
			file = argv[i];
	}
	if (!file)
		return usage_error(cmd, "no configuration file");
	rc = cf_load(&cf, file, 0);
	if (rc)
		goto out;
	if ((rc = op_hello(c, &h)) || (rc = check_pcpus(&cf, h.nr_pcpus)))
		goto out;
	if ((rc = send_create(c, &cf, paused, &id)))
		goto out;
	for (unsigned i = 0; i < cf.nr_blobs && !rc; i++)
		rc = load_blob(c, id, cf.vm->name, &cf.blob[i]);
	ref = (struct bhc_vm_ref){ .id = id };
	/* START creates it from what was loaded; with BHC_CREATE_F_PAUSED it is then paused
	 * before its first instruction (an unfinished creation would be abandoned when this
	 * bhctl closes the channel). */
	if (!rc)
		rc = op_simple(c, BHC_START, &ref, sizeof(ref), NULL, 0, "start", NULL);
	if (rc) {
		undo_create(c, id, cf.vm->name); /* also after a channel error: it may work */
		goto out;
	}
	printf("bhctl: vm %u '%s' created%s\n", id, cf.vm->name,
	       paused ? " paused (`bhctl unpause' runs it)" : " and started");
out:
	cf_free(&cf);
	return rc;
}
