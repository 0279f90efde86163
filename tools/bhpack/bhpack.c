/* bhpack: compiles a Bulkhead configuration with dtc, validates it with the hypervisor's own
 * parser, resolves and checks the images it names, and writes the system package. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bulkhead/config.h>
#include <bulkhead/fdt.h>
#include <bulkhead/image.h>
#include <bulkhead/package.h>

#include "../common/hostfile.h"

#define MAX_INCLUDES 32
/* each VM names an image, an initrd, a device tree and its disks' images */
#define MAX_FILES (CFG_MAX_VMS * (3 + CFG_MAX_VIRTIO))
#define EXIT_CONFIG 1 /* the configuration (or a file it names) is wrong */
#define EXIT_USAGE 2  /* bad command line, or an I/O error */

_Static_assert(MAX_FILES <= PKG_MAX_FILES, "the package's file table is too small");

struct opts {
	const char *inc[MAX_INCLUDES];
	int nr_inc;
	unsigned cpus;
	const char *out;
	const char *config;
	bool check;
};

/* One distinct file to pack (an image, an initrd or a device tree). */
struct file {
	const char *path; /* as written in the configuration */
	char *resolved;
	unsigned char *data;
	u64 size;
	u64 offset; /* in the package */
};

struct state {
	const struct opts *o;
	int status; /* worst exit code so far */
	struct file files[MAX_FILES];
	u32 nr_files;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bhpack [-I DIR]... [--cpus N] -o OUT CONFIG.dts|CONFIG.dtb\n"
		"       bhpack [-I DIR]... [--cpus N] --check CONFIG.dts|CONFIG.dtb\n"
		"Compiles CONFIG with dtc, checks it, and packs it with the images it names\n"
		"into a Bulkhead system package (docs/config.md).\n"
		"  -I DIR     also look for images in DIR (after the config file's folder)\n"
		"  --cpus N   refuse physical CPUs >= N (default: not checked)\n"
		"  -o OUT     the package to write (written atomically)\n"
		"  --check    only validate; write nothing\n"
		"Exit status: 0 ok, 1 configuration errors, 2 usage or I/O errors.\n");
}

/* Parses a positive decimal CPU count. */
static bool parse_cpus(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v == 0 || v > 4096)
		return false;
	*out = (unsigned)v;
	return true;
}

/* Fills o from argv; returns -1 (after printing why) on a usage error, 1 for --help. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return 1;
		if (!strcmp(a, "--check")) {
			o->check = true;
			continue;
		}
		if (!strcmp(a, "-I") || !strcmp(a, "-o") || !strcmp(a, "--cpus")) {
			if (++i >= argc) {
				fprintf(stderr, "bhpack: %s needs an argument\n", a);
				return -1;
			}
			val = argv[i];
		} else if (!strncmp(a, "-I", 2) || !strncmp(a, "-o", 2)) {
			val = a + 2;
		} else if (!strncmp(a, "--cpus=", 7)) {
			val = a + 7;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "bhpack: unknown option '%s'\n", a);
			return -1;
		} else if (o->config) {
			fprintf(stderr, "bhpack: more than one configuration file\n");
			return -1;
		} else {
			o->config = a;
			continue;
		}
		if (a[1] == 'I') {
			if (o->nr_inc >= MAX_INCLUDES) {
				fprintf(stderr, "bhpack: too many -I folders\n");
				return -1;
			}
			o->inc[o->nr_inc++] = val;
		} else if (a[1] == 'o') {
			o->out = val;
		} else if (!parse_cpus(val, &o->cpus)) {
			fprintf(stderr, "bhpack: --cpus wants a number from 1 to 4096, not '%s'\n",
				val);
			return -1;
		}
	}
	if (!o->config || (!o->out && !o->check)) {
		fprintf(stderr, "bhpack: %s\n",
			o->config ? "no output (-o OUT or --check)" : "no configuration file");
		return -1;
	}
	return 0;
}

/* Loads the configuration: a .dtb as is (recognised by its magic), anything else through dtc. */
static int load_config(const char *config, unsigned char **dtb, u64 *size)
{
	if (host_read_file(config, dtb, size) < 0) {
		fprintf(stderr, "bhpack: cannot read '%s': %s\n", config, strerror(errno));
		return EXIT_USAGE;
	}
	if (*size >= 4 && (*dtb)[0] == 0xd0 && (*dtb)[1] == 0x0d && (*dtb)[2] == 0xfe &&
	    (*dtb)[3] == 0xed)
		return 0;
	free(*dtb);
	switch (host_compile_dts("bhpack", config, dtb, size)) {
	case HOST_DTC_OK:
		return 0;
	case HOST_DTC_REFUSED:
		return EXIT_CONFIG;
	default:
		return EXIT_USAGE;
	}
}

/* Records an error and the exit code it implies. */
static void fail(struct state *s, int code)
{
	if (code > s->status)
		s->status = code;
}

/* dir/path as a new string ("path" alone if path is absolute or dir is empty). */
static char *join(const char *dir, size_t dirlen, const char *path)
{
	size_t n = dirlen + strlen(path) + 2;
	char *r = malloc(n);

	if (!r)
		return NULL;
	if (path[0] == '/' || dirlen == 0)
		snprintf(r, n, "%s", path);
	else
		snprintf(r, n, "%.*s/%s", (int)dirlen, dir, path);
	return r;
}

/* True if path names a regular file (or a link to one). */
static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds an image: next to the config file first, then in each -I folder. NULL if nowhere. */
static char *resolve(const struct opts *o, const char *path)
{
	const char *slash = strrchr(o->config, '/');
	size_t dirlen = slash ? (size_t)(slash - o->config) + (slash == o->config) : 0;
	char *r = join(o->config, dirlen, path);

	if (r && is_file(r))
		return r;
	for (int i = 0; i < o->nr_inc && path[0] != '/'; i++) {
		free(r);
		r = join(o->inc[i], strlen(o->inc[i]), path);
		if (r && is_file(r))
			return r;
	}
	free(r);
	return NULL;
}

/* Checks that the image fits in the VM's RAM where the hypervisor will put it (image_place):
 * an arm64 Linux Image at text_offset with its image_size, anything else as a flat binary at the
 * RAM base. Returns true, with its placement in *pl, if it fits. */
static bool check_image_fit(struct state *s, const struct cfg_vm *vm, const struct file *f,
			    struct image_place *pl)
{
	const char *file = s->o->config, *why;
	u64 ram = vm->ram.size;
	bool too_big;

	memset(pl, 0, sizeof(*pl));
	if (!ram || !f->size)
		return false; /* memory is wrong (config_parse said so), or the file is empty */
	why = image_place(f->data, f->size, ram, pl);
	if (!why)
		return true;
	fail(s, EXIT_CONFIG);
	too_big = pl->span && (pl->offset >= ram || pl->span > ram - pl->offset);
	if (too_big && pl->linux)
		fprintf(stderr,
			"%s: vm '%s': field 'image': Linux Image '%s' needs 0x%llx bytes "
			"(text_offset 0x%llx + size 0x%llx) but memory is 0x%llx bytes\n",
			file, vm->name, f->path, (unsigned long long)(pl->offset + pl->span),
			(unsigned long long)pl->offset, (unsigned long long)pl->span,
			(unsigned long long)ram);
	else if (too_big)
		fprintf(stderr,
			"%s: vm '%s': field 'image': file '%s' is 0x%llx bytes, more than "
			"memory (0x%llx bytes)\n",
			file, vm->name, f->path, (unsigned long long)f->size,
			(unsigned long long)ram);
	else
		fprintf(stderr, "%s: vm '%s': field 'image': file '%s': %s\n", file, vm->name,
			f->path, why);
	return false;
}

/* With an initrd, the image, the initrd and room for the device tree must all fit in RAM. */
static void check_initrd_fit(struct state *s, const struct cfg_vm *vm,
			     const struct image_place *pl, const struct file *initrd)
{
	u64 image_end = pl->offset + pl->span;
	u64 need = image_end + initrd->size + CFG_DTB_MAX;

	if (need <= vm->ram.size)
		return;
	fail(s, EXIT_CONFIG);
	fprintf(stderr,
		"%s: vm '%s': field 'initrd': the image (0x%llx bytes from the RAM base), initrd "
		"'%s' (0x%llx bytes) and 2 MiB for the device tree need 0x%llx bytes but memory "
		"is 0x%llx bytes\n",
		s->o->config, vm->name, (unsigned long long)image_end, initrd->path,
		(unsigned long long)initrd->size, (unsigned long long)need,
		(unsigned long long)vm->ram.size);
}

/* A VM's own device tree must be a valid blob of at most CFG_DTB_MAX bytes. */
static void check_dtb(struct state *s, const struct cfg_vm *vm, const struct file *f)
{
	struct fdt fdt;
	int err;

	if (!f->size)
		return; /* reported as empty */
	if (f->size > CFG_DTB_MAX) {
		fail(s, EXIT_CONFIG);
		fprintf(stderr,
			"%s: vm '%s': field 'dtb': file '%s' is 0x%llx bytes (at most 2 MiB)\n",
			s->o->config, vm->name, f->path, (unsigned long long)f->size);
		return;
	}
	err = fdt_init(&fdt, f->data, f->size);
	if (err) {
		fail(s, EXIT_CONFIG);
		fprintf(stderr,
			"%s: vm '%s': field 'dtb': file '%s' is not a valid device tree blob (%s)\n",
			s->o->config, vm->name, f->path, config_fdt_reason(err));
	}
}

/* A disk's image must fit its size (or, without one, 1 GiB once rounded up to 512 bytes). */
static void check_disk(struct state *s, const struct cfg_vm *vm, const struct cfg_disk *d,
		       const struct file *f)
{
	u64 max = d->size ? d->size : CFG_DISK_MAX;

	if (f->size <= max)
		return;
	fail(s, EXIT_CONFIG);
	fprintf(stderr, "%s: vm '%s': field 'virtio-blk@%u/image': file '%s' is 0x%llx bytes, "
		"more than the disk (0x%llx bytes)\n", s->o->config, vm->name, d->slot, f->path,
		(unsigned long long)f->size, (unsigned long long)max);
}

/* Finds (or loads) the file a VM names in field; NULL after reporting why. */
static struct file *get_file(struct state *s, const struct cfg_vm *vm, const char *field,
			     const char *path)
{
	const char *file = s->o->config;
	struct file *f;

	for (u32 i = 0; i < s->nr_files; i++)
		if (!strcmp(s->files[i].path, path))
			return &s->files[i];
	f = &s->files[s->nr_files];
	f->path = path;
	f->resolved = resolve(s->o, path);
	if (!f->resolved) {
		fprintf(stderr, "%s: vm '%s': field '%s': file '%s' not found\n", file, vm->name,
			field, path);
		fail(s, EXIT_CONFIG);
		return NULL;
	}
	if (host_read_file(f->resolved, &f->data, &f->size) < 0) {
		fprintf(stderr, "%s: vm '%s': field '%s': cannot read '%s': %s\n", file, vm->name,
			field, f->resolved, strerror(errno));
		free(f->resolved);
		fail(s, EXIT_USAGE);
		return NULL;
	}
	s->nr_files++;
	if (f->size == 0) {
		fprintf(stderr, "%s: vm '%s': field '%s': file '%s' is empty\n", file, vm->name,
			field, path);
		fail(s, EXIT_CONFIG);
	}
	return f;
}

/* Resolves and checks the images of a VM's disks. */
static void check_disks(struct state *s, const struct cfg_vm *vm)
{
	for (u32 i = 0; i < vm->nr_disks; i++) {
		const struct cfg_disk *d = &vm->disk[i];
		char field[32];
		struct file *f;

		snprintf(field, sizeof(field), "virtio-blk@%u/image", d->slot);
		if (d->image && (f = get_file(s, vm, field, d->image)))
			check_disk(s, vm, d, f);
	}
}

/* Resolves and checks every VM's files: the image (and that it fits), the initrd (and that the
 * image, the initrd and the device tree fit together), the VM's own device tree, the disks'
 * images (that each fits its disk). */
static void check_files(struct state *s, const struct cfg_system *sys)
{
	for (u32 i = 0; i < sys->nr_vms; i++) {
		const struct cfg_vm *vm = &sys->vm[i];
		struct file *img = NULL, *initrd = NULL, *dtb = NULL;
		struct image_place pl;
		bool fits = false;

		if (vm->image) /* else already reported */
			img = get_file(s, vm, "image", vm->image);
		if (img)
			fits = check_image_fit(s, vm, img, &pl);
		if (vm->initrd)
			initrd = get_file(s, vm, "initrd", vm->initrd);
		if (initrd && initrd->size && fits)
			check_initrd_fit(s, vm, &pl, initrd);
		if (vm->dtb)
			dtb = get_file(s, vm, "dtb", vm->dtb);
		if (dtb)
			check_dtb(s, vm, dtb);
		check_disks(s, vm);
	}
}

static void put32(unsigned char *p, u32 v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, u64 v)
{
	put32(p, (u32)v);
	put32(p + 4, (u32)(v >> 32));
}

/* Name of the configuration stored in the package: the path as given, or its last part. */
static void source_name(char *dst, const char *config)
{
	const char *base = strrchr(config, '/');

	if (strlen(config) >= PKG_NAME_LEN && base)
		config = base + 1;
	snprintf(dst, PKG_NAME_LEN, "%s", config);
}

/* Writes len bytes at offset off of fd. */
static bool put_at(int fd, const void *data, u64 len, u64 off)
{
	const unsigned char *p = data;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n <= 0)
			return false;
		p += n;
		off += (u64)n;
		len -= (u64)n;
	}
	return true;
}

/* Lays out and writes the package into fd: header and file table, DTB, images. */
static bool write_package(int fd, struct state *s, const unsigned char *dtb, u64 dtb_size)
{
	unsigned char hdr[PKG_HDR_SIZE + MAX_FILES * PKG_ENTRY_SIZE];
	u64 hdr_size = PKG_HDR_SIZE + (u64)s->nr_files * PKG_ENTRY_SIZE;
	u64 dtb_off = ALIGN_UP(hdr_size, PKG_ALIGN), end = dtb_off + dtb_size;

	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, PKG_MAGIC, PKG_MAGIC_LEN);
	put32(hdr + 8, (u32)hdr_size);
	put32(hdr + 12, s->nr_files);
	put64(hdr + 24, dtb_off);
	put64(hdr + 32, dtb_size);
	source_name((char *)hdr + 40, s->o->config);
	for (u32 i = 0; i < s->nr_files; i++) {
		unsigned char *e = hdr + PKG_HDR_SIZE + i * PKG_ENTRY_SIZE;

		s->files[i].offset = ALIGN_UP(end, PKG_ALIGN);
		end = s->files[i].offset + s->files[i].size;
		snprintf((char *)e, PKG_PATH_LEN, "%s", s->files[i].path);
		put64(e + PKG_PATH_LEN, s->files[i].offset);
		put64(e + PKG_PATH_LEN + 8, s->files[i].size);
	}
	put64(hdr + 16, end);
	if (ftruncate(fd, (off_t)end) < 0 || !put_at(fd, hdr, hdr_size, 0) ||
	    !put_at(fd, dtb, dtb_size, dtb_off))
		return false;
	for (u32 i = 0; i < s->nr_files; i++)
		if (!put_at(fd, s->files[i].data, s->files[i].size, s->files[i].offset))
			return false;
	return fsync(fd) == 0;
}

/* Writes the package to a temporary file next to out, then renames it into place. */
static int emit(struct state *s, const unsigned char *dtb, u64 dtb_size)
{
	const char *out = s->o->out;
	size_t n = strlen(out) + 16;
	char *tmp = malloc(n);
	int fd;

	if (!tmp)
		return EXIT_USAGE;
	snprintf(tmp, n, "%s.tmp.XXXXXX", out);
	fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, "bhpack: cannot create '%s': %s\n", tmp, strerror(errno));
		free(tmp);
		return EXIT_USAGE;
	}
	if (!write_package(fd, s, dtb, dtb_size) || fchmod(fd, 0644) < 0 || close(fd) < 0 ||
	    rename(tmp, out) < 0) {
		fprintf(stderr, "bhpack: cannot write '%s': %s\n", out, strerror(errno));
		unlink(tmp);
		free(tmp);
		return EXIT_USAGE;
	}
	free(tmp);
	return 0;
}

/* Prints the parser's messages. */
static void print_errors(const struct cfg_errors *errs)
{
	for (u32 i = 0; i < errs->count; i++)
		fprintf(stderr, "%s\n", errs->msg[i]);
	if (errs->dropped)
		fprintf(stderr, "... and %u more errors\n", errs->dropped);
}

int main(int argc, char **argv)
{
	static struct cfg_system sys;
	static struct cfg_errors errs;
	struct opts o = { 0 };
	struct state s = { &o, 0, { { 0 } }, 0 };
	struct cfg_limits lim;
	unsigned char *dtb;
	u64 dtb_size;
	int r = parse_args(argc, argv, &o);

	if (r) {
		usage(r > 0 ? stdout : stderr);
		return r > 0 ? 0 : EXIT_USAGE;
	}
	r = load_config(o.config, &dtb, &dtb_size);
	if (r)
		return r;
	lim.nr_pcpus = o.cpus;
	if (config_parse(dtb, dtb_size, o.config, &lim, &sys, &errs)) {
		print_errors(&errs);
		fail(&s, EXIT_CONFIG);
	}
	check_files(&s, &sys);
	if (s.status) {
		fprintf(stderr, "bhpack: %s: %s%s\n", o.config,
			s.status == EXIT_CONFIG ? "errors found" : "failed",
			o.check ? "" : ", no package written");
		return s.status;
	}
	if (o.check) {
		printf("%s: ok (%u VMs, %u files)\n", o.config, sys.nr_vms, s.nr_files);
		return 0;
	}
	return emit(&s, dtb, dtb_size);
}
