/* Tests for the configuration parser (hyp/core/config.c): parsed values of a good config, the
 * exact message for each kind of mistake, and that a bad VM does not spoil the others. */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <bulkhead/config.h>
#include <bulkhead/package.h>

#include "unit.h"

#ifndef UNIT_CONFIG_DIR
#define UNIT_CONFIG_DIR "build/unit/configs"
#endif
#ifndef UNIT_BHPACK
#define UNIT_BHPACK "build/tools/bhpack"
#endif

/* One parse: the blob (VM image strings point into it), the result and all messages. */
struct parsed {
	uint8_t *blob;
	size_t len;
	u32 nerr;
	struct cfg_system sys;
	struct cfg_errors errs;
	char all[CFG_MAX_ERRORS * (CFG_ERR_LEN + 1) + 2]; /* "\n" + each message + "\n" */
};

/* Reads UNIT_CONFIG_DIR/name.dtb into an exact-size heap buffer. */
static uint8_t *load(const char *name, size_t *len)
{
	char file[256];

	snprintf(file, sizeof(file), "%s.dtb", name);
	return unit_load(file, len);
}

/* Parses the blob already in p->blob as file, with nr_pcpus, and joins the messages. */
static void run(struct parsed *p, const char *file, u32 nr_pcpus)
{
	struct cfg_limits lim = { nr_pcpus };
	size_t off = 1;

	p->nerr = config_parse(p->blob, p->len, file, &lim, &p->sys, &p->errs);
	p->all[0] = '\n';
	for (u32 i = 0; i < p->errs.count; i++) {
		CHECK(strlen(p->errs.msg[i]) < CFG_ERR_LEN);
		off += (size_t)snprintf(p->all + off, sizeof(p->all) - off, "%s\n", p->errs.msg[i]);
	}
	p->all[off] = 0;
}

/* Loads name.dtb and parses it under the file name "name.dts". NULL if it cannot be loaded. */
static struct parsed *parse(const char *name, u32 nr_pcpus)
{
	struct parsed *p = calloc(1, sizeof(*p));
	char file[128];

	p->blob = load(name, &p->len);
	if (!p->blob) {
		free(p);
		return NULL;
	}
	snprintf(file, sizeof(file), "%s.dts", name);
	run(p, file, nr_pcpus);
	return p;
}

static void done(struct parsed *p)
{
	if (p)
		free(p->blob);
	free(p);
}

/* Replaces the first occurrence of from with to (same length) in the blob. */
static bool patch(struct parsed *p, const char *from, const char *to, size_t n)
{
	for (size_t i = 0; i + n <= p->len; i++) {
		if (!memcmp(p->blob + i, from, n)) {
			memcpy(p->blob + i, to, n);
			return true;
		}
	}
	return false;
}

/* Checks one whole message line ("file: vm 'x': field 'y': reason"). */
#define CHECK_MSG(p, line) CHECK_CONTAINS((p)->all, "\n" line "\n")

TEST(config_good_values)
{
	struct parsed *p = parse("good", 4);
	const struct cfg_vm *v;

	if (!p)
		return;
	CHECK_EQ(p->nerr, 0);
	CHECK_EQ(p->errs.count, 0);
	CHECK_EQ(p->sys.nr_vms, 4);
	v = &p->sys.vm[0];
	CHECK_STR(v->name, "alpha");
	CHECK_EQ(v->id, 0);
	CHECK(v->valid);
	CHECK_EQ(v->vcpus, 1);
	CHECK_EQ(v->pcpus[0], 1);
	CHECK_EQ(v->priority, 1);
	CHECK_EQ(v->ram.base, 0x40000000);
	CHECK_EQ(v->ram.size, 0x1000000);
	CHECK_EQ(v->pl011.base, CFG_DEFAULT_PL011);
	CHECK_EQ(v->pl011.size, 0x1000);
	CHECK_STR(v->image, "guests/hello.bin");
	v = &p->sys.vm[1];
	CHECK_STR(v->name, "beta");
	CHECK_EQ(v->id, 1);
	CHECK(v->valid);
	CHECK_EQ(v->vcpus, 2);
	CHECK_EQ(v->pcpus[0], 2);
	CHECK_EQ(v->pcpus[1], 3);
	CHECK_EQ(v->priority, CFG_DEFAULT_PRIORITY);
	CHECK_EQ(v->pl011.base, 0x09000000);
	CHECK_STR(v->image, "guests/smp.bin");
	v = &p->sys.vm[2];
	CHECK_STR(v->name, "gamma_2-x");
	CHECK(v->valid);
	CHECK_EQ(v->vcpus, 4);
	CHECK_EQ(v->pcpus[3], 3);
	CHECK_EQ(v->priority, 15);
	CHECK_EQ(v->ram.base, 0x100000000ULL);
	CHECK_EQ(v->ram.size, 0x100000000ULL);
	CHECK_EQ(v->pl011.base, 0x0a001000);
	CHECK_EQ(v->pl011.size, 0x1000);
	v = &p->sys.vm[3];
	CHECK_STR(v->name, "delta");
	CHECK(v->valid);
	CHECK_EQ(v->vcpus, 8);
	CHECK_EQ(v->pcpus[7], 1);
	CHECK_EQ(v->priority, 0);
	CHECK_EQ(v->ram.base, 0x7fffe00000ULL); /* the last 2 MiB below 512 GiB */
	CHECK_STR(v->image, "linux/Image");
	done(p);
}

TEST(config_good_unknown_cpus_and_fewer_cpus)
{
	struct parsed *p = parse("good", 0);

	if (!p)
		return;
	CHECK_EQ(p->nerr, 0); /* nr_pcpus 0: not checked */
	run(p, "good.dts", 2);
	CHECK_EQ(p->nerr, 4);
	CHECK_MSG(p, "good.dts: vm 'beta': field 'pcpus': physical CPU 2 does not exist "
		     "(the machine has 2)");
	CHECK_MSG(p, "good.dts: vm 'beta': field 'pcpus': physical CPU 3 does not exist "
		     "(the machine has 2)");
	CHECK_MSG(p, "good.dts: vm 'gamma_2-x': field 'pcpus': physical CPU 3 does not exist "
		     "(the machine has 2)");
	CHECK(p->sys.vm[0].valid);
	CHECK(!p->sys.vm[1].valid);
	CHECK(!p->sys.vm[2].valid);
	CHECK(p->sys.vm[3].valid);
	CHECK_EQ(p->sys.nr_vms, 4); /* VM errors do not drop the other VMs */
	done(p);
}

/* Checks that exactly the VMs named in valid[] (a NULL-ended list) are valid. */
static void check_valid(const struct parsed *p, const char *const *valid)
{
	for (u32 i = 0; i < p->sys.nr_vms; i++) {
		bool want = false;

		for (const char *const *v = valid; *v; v++)
			want |= !strcmp(*v, p->sys.vm[i].name);
		if (p->sys.vm[i].valid != want)
			unit_fail(__FILE__, __LINE__, "vm '%s' valid is %d", p->sys.vm[i].name,
				  p->sys.vm[i].valid);
	}
}

TEST(config_bad_cpus)
{
	struct parsed *p = parse("bad_cpus", 4);
	static const char *const valid[] = { "good", NULL };

	if (!p)
		return;
	CHECK_EQ(p->sys.nr_vms, 8);
	CHECK_MSG(p, "bad_cpus.dts: vm 'v0': field 'vcpus': 0 is out of range (1..8)");
	CHECK_MSG(p, "bad_cpus.dts: vm 'v9': field 'vcpus': 9 is out of range (1..8)");
	CHECK_MSG(p, "bad_cpus.dts: vm 'v9': field 'pcpus': has 9 entries (at most 8)");
	CHECK_MSG(p, "bad_cpus.dts: vm 'pmis': field 'pcpus': needs one entry per vCPU: has 1, "
		     "vcpus is 2");
	CHECK_MSG(p, "bad_cpus.dts: vm 'pbig': field 'pcpus': physical CPU 7 does not exist "
		     "(the machine has 4)");
	CHECK_MSG(p, "bad_cpus.dts: vm 'prio': field 'priority': 16 is out of range (0..15)");
	CHECK_MSG(p, "bad_cpus.dts: vm 'nocpu': field 'vcpus': missing (required)");
	CHECK_MSG(p, "bad_cpus.dts: vm 'nocpu': field 'pcpus': missing (required)");
	CHECK_MSG(p, "bad_cpus.dts: vm 'wide': field 'vcpus': must be one cell, as in <1>");
	CHECK_MSG(p, "bad_cpus.dts: vm 'wide': field 'pcpus': must be a list of cells, one per "
		     "vCPU, as in <0 1>");
	CHECK_EQ(p->nerr, 10);
	check_valid(p, valid);
	CHECK_EQ(p->sys.vm[0].pcpus[1], 3);
	done(p);
}

TEST(config_bad_memory)
{
	struct parsed *p = parse("bad_memory", 0);
	static const char *const valid[] = { "good", NULL };

	if (!p)
		return;
	CHECK_MSG(p, "bad_memory.dts: vm 'mbase': field 'memory': base 0x40100000 is not a "
		     "multiple of 2 MiB");
	CHECK_MSG(p, "bad_memory.dts: vm 'msize': field 'memory': size 0x100000 is not a "
		     "multiple of 2 MiB");
	CHECK_MSG(p, "bad_memory.dts: vm 'mzero': field 'memory': size is 0 (at least 2 MiB)");
	CHECK_MSG(p, "bad_memory.dts: vm 'mhuge': field 'memory': size 0x100200000 is more "
		     "than 4 GiB");
	CHECK_MSG(p, "bad_memory.dts: vm 'mipa': field 'memory': base 0x7fffe00000 + size "
		     "0x400000 ends above 512 GiB (the 39-bit stage-2 input range)");
	CHECK_MSG(p, "bad_memory.dts: vm 'mdev': field 'memory': 0x9e00000..0xa200000 overlaps "
		     "the device window 0x8000000..0xa000000");
	CHECK_MSG(p, "bad_memory.dts: vm 'mcells': field 'memory': must be 4 cells <base-hi "
		     "base-lo size-hi size-lo>");
	CHECK_EQ(p->nerr, 7);
	CHECK_EQ(p->sys.nr_vms, 8);
	check_valid(p, valid);
	CHECK_EQ(p->sys.vm[0].ram.size, 0x8000000);
	done(p);
}

TEST(config_bad_names_images_fields)
{
	struct parsed *p = parse("bad_misc", 0);
	static const char *const valid[] = { "good", NULL };

	if (!p)
		return;
	CHECK_MSG(p, "bad_misc.dts: vm 'hyp': field 'name': 'hyp' is reserved for the "
		     "hypervisor's own messages");
	CHECK_MSG(p, "bad_misc.dts: vm 'Upper': field 'name': invalid character 'U' (use a-z, "
		     "0-9, '-' and '_')");
	CHECK_MSG(p, "bad_misc.dts: vm 'a234567890123456789012345678901': field 'name': name is "
		     "33 characters long (at most 31)");
	CHECK_MSG(p, "bad_misc.dts: vm 'unk': field 'vcpu': unknown field 'vcpu'");
	CHECK_MSG(p, "bad_misc.dts: vm 'unk': field 'uart': unknown field 'uart'");
	CHECK_MSG(p, "bad_misc.dts: vm 'noimg': field 'image': missing (required)");
	CHECK_MSG(p, "bad_misc.dts: vm 'emptyimg': field 'image': the path is empty");
	CHECK_MSG(p, "bad_misc.dts: vm 'listimg': field 'image': must be one string, as in "
		     "\"guests/hello.bin\"");
	CHECK_EQ(p->nerr, 8);
	check_valid(p, valid);
	CHECK(p->sys.vm[5].image == NULL);
	done(p);
}

TEST(config_bad_pl011)
{
	struct parsed *p = parse("bad_pl011", 0);
	static const char *const valid[] = { "good", "unit", NULL };

	if (!p)
		return;
	CHECK_MSG(p, "bad_pl011.dts: vm 'palign': field 'pl011': base 0x9000800 is not 4 KiB "
		     "aligned");
	CHECK_MSG(p, "bad_pl011.dts: vm 'psize': field 'pl011': size 0x2000 is not 4 KiB (0x1000)");
	CHECK_MSG(p, "bad_pl011.dts: vm 'pram': field 'pl011': 0x40fff000..0x41000000 overlaps "
		     "the VM's RAM 0x40000000..0x41000000");
	CHECK_MSG(p, "bad_pl011.dts: vm 'pnoreg': field 'pl011': missing 'reg'");
	CHECK_MSG(p, "bad_pl011.dts: vm 'pcells': field 'pl011': reg must be 4 cells <base-hi "
		     "base-lo size-hi size-lo>");
	CHECK_MSG(p, "bad_pl011.dts: vm 'pextra': field 'pl011/clock': unknown field 'clock'");
	CHECK_EQ(p->nerr, 6);
	check_valid(p, valid);
	CHECK_EQ(p->sys.vm[0].pl011.base, 0x41000000);
	CHECK_EQ(p->sys.vm[7].pl011.base, 0x09001000);
	done(p);
}

/* The PL061 with the power button is fixed at 0x0903_0000: the PL011 may not move onto it. */
TEST(config_pl011_on_pl061)
{
	struct parsed *p = parse("bad_pl011_gpio", 0);
	static const char *const valid[] = { "pbeside", NULL };

	if (!p)
		return;
	CHECK_MSG(p, "bad_pl011_gpio.dts: vm 'pgpio': field 'pl011': 0x9030000..0x9031000 overlaps "
		     "the PL061 (power button) at 0x9030000");
	CHECK_EQ(p->nerr, 1);
	check_valid(p, valid);
	CHECK_EQ(p->sys.vm[1].pl011.base, 0x09031000);
	done(p);
}

TEST(config_duplicates_in_blob)
{
	struct parsed *p = parse("dup", 0);

	if (!p)
		return;
	CHECK_EQ(p->nerr, 1); /* only the unknown 'vcpuz' before patching */
	CHECK(patch(p, "twio", "twin", 5));
	CHECK(patch(p, "vcpuz", "vcpus", 6));
	run(p, "dup.dts", 0);
	CHECK_MSG(p, "dup.dts: vm 'twin': field 'vcpus': defined twice");
	CHECK_MSG(p, "dup.dts: vm 'twin': field 'name': VM 0 has the same name");
	CHECK_EQ(p->nerr, 2);
	CHECK(p->sys.vm[0].valid);
	CHECK(!p->sys.vm[1].valid);
	CHECK(p->sys.vm[2].valid);
	CHECK_EQ(p->sys.vm[1].vcpus, 1); /* the first definition was used */
	done(p);
}

TEST(config_unprintable_name)
{
	struct parsed *p = parse("dup", 0);

	if (!p)
		return;
	CHECK(patch(p, "other", "ot\x01r@", 6));
	run(p, "dup.dts", 0);
	CHECK_MSG(p, "dup.dts: vm 'ot?r@': field 'name': invalid character 0x01 (use a-z, 0-9, "
		     "'-' and '_')");
	CHECK(!p->sys.vm[2].valid);
	done(p);
}

TEST(config_global_errors)
{
	struct parsed *p;

	if ((p = parse("no_vms", 0))) {
		CHECK_MSG(p, "no_vms.dts: field '/vms': missing (one child node per VM)");
		CHECK_EQ(p->nerr, 1);
		CHECK_EQ(p->sys.nr_vms, 0);
		done(p);
	}
	if ((p = parse("empty_vms", 0))) {
		CHECK_MSG(p, "empty_vms.dts: field '/vms': no VMs defined");
		CHECK_EQ(p->nerr, 1);
		CHECK_EQ(p->sys.nr_vms, 0);
		done(p);
	}
	if ((p = parse("bad_compat", 0))) {
		CHECK_MSG(p, "bad_compat.dts: field 'compatible': \"foo,bar\" is not "
			     "\"bulkhead,system-v1\"");
		CHECK_EQ(p->nerr, 1);
		CHECK_EQ(p->sys.nr_vms, 0); /* a global error starts no VM */
		done(p);
	}
	if ((p = parse("too_many", 0))) {
		CHECK_MSG(p, "too_many.dts: field '/vms': 9 VMs defined (at most 8)");
		CHECK_EQ(p->nerr, 1);
		CHECK_EQ(p->sys.nr_vms, 0);
		done(p);
	}
}

TEST(config_not_a_blob)
{
	struct parsed *p = calloc(1, sizeof(*p));
	uint8_t junk[64] = "this is not a device tree";

	p->blob = malloc(sizeof(junk));
	memcpy(p->blob, junk, sizeof(junk));
	p->len = sizeof(junk);
	run(p, "x.pkg", 0);
	CHECK_MSG(p, "x.pkg: field '/': not a valid device tree blob (bad magic)");
	CHECK_EQ(p->nerr, 1);
	CHECK_EQ(p->sys.nr_vms, 0);
	p->len = 8;
	run(p, "x.pkg", 0);
	CHECK_MSG(p, "x.pkg: field '/': not a valid device tree blob (truncated)");
	done(p);
}

TEST(config_too_many_errors)
{
	struct parsed *p = parse("many_errors", 0);

	if (!p)
		return;
	CHECK_EQ(p->nerr, 40); /* 8 VMs x (unknown 'x' + 4 missing fields) */
	CHECK_EQ(p->errs.count, CFG_MAX_ERRORS);
	CHECK_EQ(p->errs.dropped, 40 - CFG_MAX_ERRORS);
	CHECK_MSG(p, "many_errors.dts: vm 'e0': field 'x': unknown field 'x'");
	CHECK_MSG(p, "many_errors.dts: vm 'e0': field 'memory': missing (required)");
	for (u32 i = 0; i < p->sys.nr_vms; i++)
		CHECK(!p->sys.vm[i].valid);
	done(p);
}

TEST(config_long_file_name)
{
	struct parsed *p = parse("bad_misc", 0);
	char file[400];

	if (!p)
		return;
	memset(file, 'f', sizeof(file) - 1);
	file[sizeof(file) - 1] = 0;
	run(p, file, 0);
	CHECK_EQ(p->nerr, 8);
	CHECK_EQ(strlen(p->errs.msg[0]), CFG_ERR_LEN - 1); /* cut, still terminated */
	done(p);
}

TEST(config_fuzz_mutations)
{
	struct parsed *p = parse("good", 4);
	uint8_t *orig;
	uint32_t seed = 99;

	if (!p)
		return;
	orig = malloc(p->len);
	memcpy(orig, p->blob, p->len);
	for (int iter = 0; iter < 2000; iter++) {
		memcpy(p->blob, orig, p->len);
		for (int k = 0; k < 1 + iter % 3; k++) {
			seed = seed * 1103515245 + 12345;
			p->blob[(seed >> 8) % p->len] ^= (uint8_t)(1u << ((seed >> 4) & 7));
		}
		run(p, "fuzz.dts", 4);
		CHECK(p->sys.nr_vms <= CFG_MAX_VMS);
		for (u32 i = 0; i < p->errs.count; i++)
			CHECK(!strncmp(p->errs.msg[i], "fuzz.dts: ", 10));
		for (u32 i = 0; i < p->sys.nr_vms; i++)
			if (p->sys.vm[i].valid) /* a VM that passed really is within the rules */
				CHECK(p->sys.vm[i].vcpus >= 1 && p->sys.vm[i].vcpus <= 8 &&
				      p->sys.vm[i].image && p->sys.vm[i].ram.size >= MiB(2) &&
				      p->sys.vm[i].pcpus[p->sys.vm[i].vcpus - 1] < 4);
	}
	free(orig);
	done(p);
}

TEST(config_linux_fields)
{
	struct parsed *p = parse("linux", 4);
	const struct cfg_vm *v;

	if (!p)
		return;
	CHECK_EQ(p->nerr, 0);
	CHECK_EQ(p->sys.nr_vms, 4);
	v = &p->sys.vm[0];
	CHECK(v->valid);
	CHECK_STR(v->image, "linux/Image");
	CHECK_STR(v->bootargs, "console=ttyAMA0 earlycon rdinit=/init");
	CHECK_STR(v->initrd, "linux/initrd.cpio.gz");
	CHECK_STR(v->dtb, "linux/vm.dtb");
	v = &p->sys.vm[1]; /* all three are optional */
	CHECK(v->valid);
	CHECK(v->bootargs == NULL);
	CHECK(v->initrd == NULL);
	CHECK(v->dtb == NULL);
	v = &p->sys.vm[2]; /* the longest command line: CFG_BOOTARGS_MAX bytes with the NUL */
	CHECK(v->valid);
	CHECK(v->bootargs && strlen(v->bootargs) == CFG_BOOTARGS_MAX - 1);
	CHECK(v->bootargs && !strncmp(v->bootargs, "console=ttyAMA0 console", 23));
	CHECK_STR(v->initrd, "linux/initrd.cpio.gz");
	CHECK(v->dtb == NULL);
	v = &p->sys.vm[3]; /* an empty command line is a command line */
	CHECK(v->valid);
	CHECK_STR(v->bootargs, "");
	/* The strings point into the blob. */
	v = &p->sys.vm[0];
	CHECK((const uint8_t *)v->bootargs > p->blob &&
	      (const uint8_t *)v->bootargs < p->blob + p->len);
	done(p);
}

TEST(config_bad_linux_fields)
{
	struct parsed *p = parse("bad_linux", 0);
	static const char *const valid[] = { "good", NULL };

	if (!p)
		return;
	CHECK_MSG(p, "bad_linux.dts: vm 'argnum': field 'bootargs': must be one string, as in "
		     "\"console=ttyAMA0\"");
	CHECK_MSG(p, "bad_linux.dts: vm 'arglist': field 'bootargs': must be one string, as in "
		     "\"console=ttyAMA0\"");
	CHECK_MSG(p, "bad_linux.dts: vm 'arglong': field 'bootargs': is 1024 characters long "
		     "(at most 1023)");
	CHECK_MSG(p, "bad_linux.dts: vm 'rdempty': field 'initrd': the path is empty");
	CHECK_MSG(p, "bad_linux.dts: vm 'rdempty': field 'dtb': must be one string, as in "
		     "\"linux/vm.dtb\"");
	CHECK_MSG(p, "bad_linux.dts: vm 'dtblong': field 'dtb': the path is 128 characters long "
		     "(at most 127)");
	CHECK_MSG(p, "bad_linux.dts: vm 'unk': field 'initramfs': unknown field 'initramfs'");
	CHECK_MSG(p, "bad_linux.dts: vm 'unk': field 'cmdline': unknown field 'cmdline'");
	CHECK_MSG(p, "bad_linux.dts: vm 'twice': field 'bootargz': unknown field 'bootargz'");
	CHECK_EQ(p->nerr, 9);
	check_valid(p, valid);
	CHECK_STR(p->sys.vm[0].bootargs, "quiet");
	CHECK_STR(p->sys.vm[0].initrd, "i.cpio");
	CHECK_STR(p->sys.vm[0].dtb, "v.dtb");
	CHECK(p->sys.vm[1].bootargs == NULL);
	CHECK(p->sys.vm[3].bootargs == NULL);
	CHECK(p->sys.vm[4].initrd == NULL);
	CHECK(p->sys.vm[4].dtb == NULL);
	/* A command line given twice (dtc refuses that; the blob may still say it). */
	CHECK(patch(p, "bootargz", "bootargs", 9));
	run(p, "bad_linux.dts", 0);
	CHECK_MSG(p, "bad_linux.dts: vm 'twice': field 'bootargs': defined twice");
	CHECK_EQ(p->nerr, 9);
	CHECK_STR(p->sys.vm[7].bootargs, "a"); /* the first definition was used */
	done(p);
}

TEST(config_virtio_disks)
{
	struct parsed *p = parse("virtio", 4);
	const struct cfg_vm *v;

	if (!p)
		return;
	CHECK_EQ(p->nerr, 0);
	v = &p->sys.vm[0];
	CHECK(v->valid);
	CHECK_EQ(v->nr_disks, 3);
	CHECK_EQ(v->disk[0].slot, 0);
	CHECK_EQ(v->disk[0].size, 0x1000000);
	CHECK(v->disk[0].image == NULL);
	CHECK_EQ(v->disk[1].slot, 31);
	CHECK_EQ(v->disk[1].size, 0); /* the image's size */
	CHECK_STR(v->disk[1].image, "disks/root.img");
	CHECK_EQ(v->disk[2].slot, 7);
	CHECK_EQ(v->disk[2].size, CFG_DISK_MAX);
	CHECK_STR(v->disk[2].image, "disks/seed.img");
	v = &p->sys.vm[1];
	CHECK(v->valid);
	CHECK_EQ(v->nr_disks, CFG_MAX_VIRTIO);
	CHECK_EQ(v->disk[7].slot, 9);
	CHECK_EQ(v->disk[7].size, 512);
	CHECK_EQ(p->sys.vm[2].nr_disks, 0);
	done(p);
}

TEST(config_bad_virtio_disks)
{
	struct parsed *p = parse("bad_virtio", 0);
	static const char *const valid[] = { "good", NULL };

	if (!p)
		return;
	CHECK_MSG(p, "bad_virtio.dts: vm 'noslot': field 'virtio-blk': needs a slot number, as in "
		     "virtio-blk@0");
	CHECK_MSG(p, "bad_virtio.dts: vm 'noslot': field 'virtio-blk@32': the slot after '@' must "
		     "be a decimal number from 0 to 31");
	CHECK_MSG(p, "bad_virtio.dts: vm 'noslot': field 'virtio-blk@x': the slot after '@' must "
		     "be a decimal number from 0 to 31");
	CHECK_MSG(p, "bad_virtio.dts: vm 'noslot': field 'virtio-blk@': the slot after '@' must "
		     "be a decimal number from 0 to 31");
	CHECK_MSG(p, "bad_virtio.dts: vm 'sizes': field 'virtio-blk@0/size': size is 0 (at least "
		     "512 bytes)");
	CHECK_MSG(p, "bad_virtio.dts: vm 'sizes': field 'virtio-blk@1/size': 0x1001 is not a "
		     "multiple of 512 bytes");
	CHECK_MSG(p, "bad_virtio.dts: vm 'sizes': field 'virtio-blk@2/size': 0x40000200 is more "
		     "than 1 GiB");
	CHECK_MSG(p, "bad_virtio.dts: vm 'sizes': field 'virtio-blk@3/size': must be 2 cells "
		     "<size-hi size-lo>");
	CHECK_MSG(p, "bad_virtio.dts: vm 'fields': field 'virtio-blk@0': needs 'size' (an empty "
		     "disk) or 'image' (or both)");
	CHECK_MSG(p, "bad_virtio.dts: vm 'fields': field 'virtio-blk@1/image': the path is empty");
	CHECK_MSG(p, "bad_virtio.dts: vm 'fields': field 'virtio-blk@2/image': must be one "
		     "string, as in \"disks/root.img\"");
	CHECK_MSG(p, "bad_virtio.dts: vm 'fields': field 'virtio-blk@3/readonly': unknown field "
		     "'readonly'");
	CHECK_MSG(p, "bad_virtio.dts: vm 'fields': field 'virtio-blk@4/part': unknown field "
		     "'part'");
	CHECK_MSG(p, "bad_virtio.dts: vm 'fields': field 'virtio-gpu@5': unknown field "
		     "'virtio-gpu@5'");
	CHECK_MSG(p, "bad_virtio.dts: vm 'places': field 'pl011': 0xa003000..0xa004000 overlaps "
		     "the VM's RAM 0xa000000..0xa200000");
	CHECK_MSG(p, "bad_virtio.dts: vm 'places': field 'virtio-blk@1': 0xa000200..0xa000400 "
		     "overlaps the VM's RAM 0xa000000..0xa200000");
	CHECK_MSG(p, "bad_virtio.dts: vm 'places': field 'virtio-blk@1': slot 1 is used twice");
	CHECK_MSG(p, "bad_virtio.dts: vm 'places': field 'virtio-blk@25': 0xa003200..0xa003400 "
		     "overlaps the PL011 at 0xa003000");
	CHECK_MSG(p, "bad_virtio.dts: vm 'nine': field 'virtio-blk@9': more than 8 virtio devices "
		     "in one VM");
	CHECK_EQ(p->nerr, 21);
	check_valid(p, valid);
	CHECK_EQ(p->sys.vm[0].nr_disks, 1);
	CHECK_EQ(p->sys.vm[0].disk[0].slot, 2);
	CHECK_EQ(p->sys.vm[5].nr_disks, CFG_MAX_VIRTIO);
	done(p);
}

TEST(config_virtio_net)
{
	struct parsed *p = parse("net", 4);
	static const u8 mac1[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x01 };
	static const u8 mac3[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x03 };
	const struct cfg_vm *v;

	if (!p)
		return;
	CHECK_EQ(p->nerr, 0);
	v = &p->sys.vm[0];
	CHECK(v->valid);
	CHECK_EQ(v->nr_disks, 1);
	CHECK_EQ(v->nr_nics, 2);
	CHECK_EQ(v->nic[0].slot, 1);
	CHECK(memcmp(v->nic[0].mac, mac1, 6) == 0);
	CHECK_STR(v->nic[0].sw, "lan0");
	CHECK_EQ(v->nic[1].slot, 31);
	CHECK_STR(v->nic[1].sw, "dmz_1-x");
	v = &p->sys.vm[1];
	CHECK(v->valid);
	CHECK_EQ(v->nr_nics, 1);
	CHECK(memcmp(v->nic[0].mac, mac3, 6) == 0);
	CHECK_STR(v->nic[0].sw, "lan0");
	done(p);
}

TEST(config_bad_virtio_net)
{
	struct parsed *p = parse("bad_net", 0);
	static const char *const valid[] = { "good", NULL };

	if (!p)
		return;
	CHECK_MSG(p, "bad_net.dts: vm 'macs': field 'virtio-net@0/mac': missing (required)");
	CHECK_MSG(p, "bad_net.dts: vm 'macs': field 'virtio-net@1/mac': must be 6 bytes, as in "
		     "[52 54 00 12 34 01]");
	CHECK_MSG(p, "bad_net.dts: vm 'macs': field 'virtio-net@2/mac': 01:00:5e:00:00:01 is a "
		     "multicast address (the first byte must be even)");
	CHECK_MSG(p, "bad_net.dts: vm 'macs': field 'virtio-net@3/mac': 00:00:00:00:00:00 is not "
		     "a valid address");
	CHECK_MSG(p, "bad_net.dts: vm 'switches': field 'virtio-net@0/switch': missing (required)");
	CHECK_MSG(p, "bad_net.dts: vm 'switches': field 'virtio-net@1/switch': must be one "
		     "string, as in \"lan0\"");
	CHECK_MSG(p, "bad_net.dts: vm 'switches': field 'virtio-net@2/switch': the name must be "
		     "1..31 characters long");
	CHECK_MSG(p, "bad_net.dts: vm 'switches': field 'virtio-net@3/switch': invalid character "
		     "'L' (use a-z, 0-9, '-' and '_')");
	CHECK_MSG(p, "bad_net.dts: vm 'switches': field 'virtio-net@4/vlan': unknown field "
		     "'vlan'");
	CHECK_MSG(p, "bad_net.dts: vm 'slots': field 'virtio-net@0': slot 0 is used twice");
	CHECK_MSG(p, "bad_net.dts: vm 'slots': field 'virtio-net': needs a slot number, as in "
		     "virtio-blk@0");
	CHECK_MSG(p, "bad_net.dts: vm 'dupmac': field 'virtio-net@2/mac': 52:54:00:00:00:01 is "
		     "already used by vm 'good' (virtio-net@0)");
	CHECK_MSG(p, "bad_net.dts: vm 'dupmac': field 'virtio-net@3/mac': 52:54:00:00:00:02 is "
		     "already used by vm 'dupmac' (virtio-net@1)");
	CHECK_EQ(p->nerr, 13);
	check_valid(p, valid);
	CHECK_EQ(p->sys.vm[0].nr_nics, 1);
	done(p);
}

TEST(config_virtio_console)
{
	struct parsed *p = parse("vcon", 4);

	if (!p)
		return;
	CHECK_EQ(p->nerr, 0);
	CHECK(p->sys.vm[0].valid);
	CHECK_EQ(p->sys.vm[0].nr_vcons, 1);
	CHECK_EQ(p->sys.vm[0].vcon_slot, 7);
	CHECK_EQ(cfg_nr_virtio(&p->sys.vm[0]), 3);
	CHECK_EQ(p->sys.vm[1].nr_vcons, 0);
	done(p);
}

TEST(config_bad_virtio_console)
{
	struct parsed *p = parse("bad_vcon", 0);
	static const char *const valid[] = { "good", NULL };

	if (!p)
		return;
	CHECK_MSG(p, "bad_vcon.dts: vm 'two': field 'virtio-console@1': a VM has at most one "
		     "virtio-console (already in slot 0)");
	CHECK_MSG(p, "bad_vcon.dts: vm 'fields': field 'virtio-console@0/ports': unknown field "
		     "'ports'");
	CHECK_MSG(p, "bad_vcon.dts: vm 'fields': field 'virtio-console@0/port@1': unknown field "
		     "'port@1'");
	CHECK_MSG(p, "bad_vcon.dts: vm 'slots': field 'virtio-console@3': slot 3 is used twice");
	CHECK_MSG(p, "bad_vcon.dts: vm 'slots': field 'virtio-console@32': the slot after '@' "
		     "must be a decimal number from 0 to 31");
	CHECK_MSG(p, "bad_vcon.dts: vm 'noslot': field 'virtio-console': needs a slot number, as "
		     "in virtio-blk@0");
	CHECK_MSG(p, "bad_vcon.dts: vm 'nine': field 'virtio-console@8': more than 8 virtio "
		     "devices in one VM");
	CHECK_EQ(p->nerr, 7);
	check_valid(p, valid);
	CHECK_EQ(p->sys.vm[0].vcon_slot, 31);
	done(p);
}

/* ---- bhpack and the Linux fields ---- */


/* Writes len bytes of data (or len zero bytes if data is NULL) to dir/name. */
static void put_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512];
	void *zeros = data ? NULL : calloc(1, len ? len : 1);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data ? data : zeros, 1, len, f) != len)
		unit_fail(__FILE__, __LINE__, "cannot write %s", path);
	if (f)
		fclose(f);
	free(zeros);
}

/* Reads dir/name, NUL-terminated; NULL if absent. */
static char *get_file(const char *dir, const char *name, size_t *len)
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

/* An arm64 Image header: text_offset, image_size; the file is 4 KiB. */
static void put_linux(const char *dir, const char *name, u64 text, u64 isize)
{
	uint8_t img[4096] = { 0 };

	for (int i = 0; i < 8; i++) {
		img[8 + i] = (uint8_t)(text >> (8 * i));
		img[16 + i] = (uint8_t)(isize >> (8 * i));
	}
	memcpy(img + 0x38, "ARM\x64", 4);
	put_file(dir, name, img, sizeof(img));
}

/* One VM on CPU 0 with RAM of size mem at 1 GiB; extra is more fields. */
#define LVM(name, mem, img, extra)                                                                 \
	"\t\t" name " { vcpus = <1>; pcpus = <0>; memory = <0x0 0x40000000 0x0 " mem ">; "         \
	"image = \"" img "\"; " extra " };\n"
#define LHEAD "/dts-v1/;\n/ {\n\tcompatible = \"bulkhead,system-v1\";\n\tvms {\n"
#define LTAIL "\t};\n};\n"

/* clang-format off */
static const char linux_good_dts[] = LHEAD
	/* 3 MiB image + 1 MiB initrd + 2 MiB for the device tree: exactly fits 6 MiB */
	LVM("lin", "0x600000", "Image",
	    "bootargs = \"console=ttyAMA0\"; initrd = \"initrd.cpio\"; dtb = \"vm.dtb\";")
	LVM("two", "0x600000", "Image", "initrd = \"initrd.cpio\";") /* files packed once */
	LTAIL;

static const char linux_bad_dts[] = LHEAD
	LVM("rdmiss", "0x800000", "Image", "initrd = \"nope.cpio\";")
	LVM("rdbig", "0x400000", "Image", "initrd = \"initrd.cpio\";")
	LVM("rdempty", "0x800000", "Image", "initrd = \"empty.cpio\";")
	LVM("dtbmiss", "0x800000", "Image", "dtb = \"nope.dtb\";")
	LVM("dtbbad", "0x800000", "Image", "dtb = \"junk.dtb\";")
	LVM("dtbbig", "0x800000", "Image", "dtb = \"big.dtb\";")
	LVM("odd", "0x800000", "odd/Image", "")
	LVM("ok", "0x800000", "Image", "initrd = \"initrd.cpio\"; dtb = \"vm.dtb\";")
	LTAIL;
/* clang-format on */

TEST(bhpack_linux_fields)
{
	char dir[64], *err, *b;
	size_t len;
	struct pkg pkg;
	const char *why;
	const u8 *data;
	u64 size;
	static uint8_t initrd[0x100000];

	if (unit_sh("test -x %s", UNIT_BHPACK)) {
		unit_fail(__FILE__, __LINE__, "%s not built (make unit builds it)", UNIT_BHPACK);
		return;
	}
	strcpy(dir, "/tmp/bhpack-linux-XXXXXX");
	if (!mkdtemp(dir) || unit_sh("mkdir -p %s/odd", dir)) {
		unit_fail(__FILE__, __LINE__, "cannot make a scratch folder");
		return;
	}
	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i * 13);
	put_file(dir, "good.dts", linux_good_dts, strlen(linux_good_dts));
	put_file(dir, "bad.dts", linux_bad_dts, strlen(linux_bad_dts));
	put_linux(dir, "Image", 0, 0x300000);
	put_linux(dir, "odd/Image", 0x800, 0x1000);
	put_file(dir, "initrd.cpio", initrd, sizeof(initrd));
	put_file(dir, "empty.cpio", "", 0);
	put_file(dir, "junk.dtb", "this is not a device tree blob, just some text", 46);
	put_file(dir, "big.dtb", NULL, 0x200001);
	put_file(dir, "vm.dts", "/dts-v1/;\n/ { model = \"mine\"; };\n", 33);
	CHECK_EQ(unit_sh("dtc -q -I dts -O dtb -o %s/vm.dtb %s/vm.dts", dir, dir), 0);

	/* Good: every file packed once, each found by its path. */
	CHECK_EQ(unit_sh("%s -o %s/out.pkg %s/good.dts 2>%s/err.txt", UNIT_BHPACK, dir, dir, dir), 0);
	err = get_file(dir, "err.txt", NULL);
	CHECK_STR(err, "");
	free(err);
	b = get_file(dir, "out.pkg", &len);
	CHECK(b != NULL);
	if (b) {
		CHECK_EQ(pkg_open(&pkg, b, len, &why), 0);
		CHECK_EQ(pkg.nr_files, 3);
		CHECK(pkg_find(&pkg, "Image", &data, &size) && size == 4096);
		CHECK(pkg_find(&pkg, "initrd.cpio", &data, &size) && size == sizeof(initrd) &&
		      !memcmp(data, initrd, sizeof(initrd)));
		CHECK(pkg_find(&pkg, "vm.dtb", &data, &size) && size > 0 &&
		      data[0] == 0xd0 && data[1] == 0x0d);
	}
	free(b);

	/* Bad: each mistake named by file, VM and field; nothing written. */
	CHECK_EQ(unit_sh("%s -o %s/bad.pkg %s/bad.dts 2>%s/err.txt", UNIT_BHPACK, dir, dir, dir), 1);
	err = get_file(dir, "err.txt", NULL);
	CHECK_CONTAINS(err, "/bad.dts: vm 'rdmiss': field 'initrd': file 'nope.cpio' not found\n");
	CHECK_CONTAINS(err, "/bad.dts: vm 'rdbig': field 'initrd': the image (0x300000 bytes from "
			    "the RAM base), initrd 'initrd.cpio' (0x100000 bytes) and 2 MiB for the "
			    "device tree need 0x600000 bytes but memory is 0x400000 bytes\n");
	CHECK_CONTAINS(err, "/bad.dts: vm 'rdempty': field 'initrd': file 'empty.cpio' is empty\n");
	CHECK_CONTAINS(err, "/bad.dts: vm 'dtbmiss': field 'dtb': file 'nope.dtb' not found\n");
	CHECK_CONTAINS(err, "/bad.dts: vm 'dtbbad': field 'dtb': file 'junk.dtb' is not a valid "
			    "device tree blob (bad magic)\n");
	CHECK_CONTAINS(err, "/bad.dts: vm 'dtbbig': field 'dtb': file 'big.dtb' is 0x200001 bytes "
			    "(at most 2 MiB)\n");
	CHECK_CONTAINS(err, "/bad.dts: vm 'odd': field 'image': file 'odd/Image': arm64 Image "
			    "header: text_offset is not 4 KiB aligned\n");
	CHECK(err && !strstr(err, "vm 'ok'"));
	free(err);
	CHECK(get_file(dir, "bad.pkg", NULL) == NULL);
	unit_sh("rm -rf %s", dir);
}

/* ---- bhpack and the disks' images ---- */

/* clang-format off */
static const char disks_good_dts[] = LHEAD
	LVM("a", "0x600000", "Image",
	    "virtio-blk@0 { image = \"disk.img\"; };"
	    "virtio-blk@1 { size = <0x0 0x100000>; image = \"disk.img\"; };"
	    "virtio-blk@2 { size = <0x0 0x1000>; };")
	LTAIL;

static const char disks_bad_dts[] = LHEAD
	LVM("miss", "0x600000", "Image", "virtio-blk@0 { image = \"nope.img\"; };")
	LVM("small", "0x600000", "Image",
	    "virtio-blk@3 { size = <0x0 0x200>; image = \"disk.img\"; };")
	LVM("empty", "0x600000", "Image", "virtio-blk@4 { image = \"empty.img\"; };")
	LVM("ok", "0x600000", "Image",
	    "virtio-blk@5 { size = <0x0 0x1000>; image = \"disk.img\"; };")
	LTAIL;
/* clang-format on */

TEST(bhpack_virtio_disk_images)
{
	char dir[64], *err, *b;
	size_t len;
	struct pkg pkg;
	const char *why;
	const u8 *data;
	u64 size;
	uint8_t disk[4096];

	if (unit_sh("test -x %s", UNIT_BHPACK)) {
		unit_fail(__FILE__, __LINE__, "%s not built (make unit builds it)", UNIT_BHPACK);
		return;
	}
	strcpy(dir, "/tmp/bhpack-disks-XXXXXX");
	if (!mkdtemp(dir)) {
		unit_fail(__FILE__, __LINE__, "cannot make a scratch folder");
		return;
	}
	for (size_t i = 0; i < sizeof(disk); i++)
		disk[i] = (uint8_t)(i * 31);
	put_file(dir, "good.dts", disks_good_dts, strlen(disks_good_dts));
	put_file(dir, "bad.dts", disks_bad_dts, strlen(disks_bad_dts));
	put_linux(dir, "Image", 0, 0x100000);
	put_file(dir, "disk.img", disk, sizeof(disk));
	put_file(dir, "empty.img", "", 0);

	/* Good: the image packed once, as it is */
	CHECK_EQ(unit_sh("%s -o %s/out.pkg %s/good.dts 2>%s/err.txt", UNIT_BHPACK, dir, dir, dir), 0);
	err = get_file(dir, "err.txt", NULL);
	CHECK_STR(err, "");
	free(err);
	b = get_file(dir, "out.pkg", &len);
	CHECK(b != NULL);
	if (b) {
		CHECK_EQ(pkg_open(&pkg, b, len, &why), 0);
		CHECK_EQ(pkg.nr_files, 2);
		CHECK(pkg_find(&pkg, "disk.img", &data, &size) && size == sizeof(disk) &&
		      !memcmp(data, disk, sizeof(disk)));
	}
	free(b);

	/* Bad: named by file, VM and field; nothing written */
	CHECK_EQ(unit_sh("%s -o %s/bad.pkg %s/bad.dts 2>%s/err.txt", UNIT_BHPACK, dir, dir, dir), 1);
	err = get_file(dir, "err.txt", NULL);
	CHECK_CONTAINS(err, "/bad.dts: vm 'miss': field 'virtio-blk@0/image': file 'nope.img' not "
			    "found\n");
	CHECK_CONTAINS(err, "/bad.dts: vm 'small': field 'virtio-blk@3/image': file 'disk.img' is "
			    "0x1000 bytes, more than the disk (0x200 bytes)\n");
	CHECK_CONTAINS(err, "/bad.dts: vm 'empty': field 'virtio-blk@4/image': file 'empty.img' is "
			    "empty\n");
	CHECK(err && !strstr(err, "vm 'ok'"));
	free(err);
	CHECK(get_file(dir, "bad.pkg", NULL) == NULL);
	unit_sh("rm -rf %s", dir);
}

TEST(config_management_and_pool)
{
	struct parsed *p = parse("mgmt", 0);
	static const char *const valid[] = { "boss", "worker", NULL };

	if (!p)
		return;
	CHECK_MSG(p, "mgmt.dts: vm 'second': field 'management': VM 'boss' is already the "
		     "management VM (at most one)");
	CHECK_MSG(p, "mgmt.dts: vm 'valued': field 'management': takes no value (write: "
		     "management;)");
	CHECK_MSG(p, "mgmt.dts: vm 'valued': field 'management': VM 'boss' is already the "
		     "management VM (at most one)");
	CHECK_EQ(p->nerr, 3);
	check_valid(p, valid);
	CHECK(p->sys.vm[0].management);
	CHECK(!p->sys.vm[1].management);
	CHECK_EQ(p->sys.pool_size, 0x20000000);
	done(p);
}

TEST(config_bad_pool)
{
	struct parsed *p = parse("bad_pool", 0);

	if (!p)
		return;
	CHECK_MSG(p, "bad_pool.dts: field '/pool': unknown field 'colour'");
	CHECK_MSG(p, "bad_pool.dts: field '/pool/size': 0x100000 is not a multiple of 2 MiB "
		     "between 2 MiB and 16 GiB");
	CHECK_EQ(p->nerr, 2);
	CHECK_EQ(p->sys.nr_vms, 0); /* a system-wide error refuses the whole system */
	done(p);
}

/* ---- passed-through devices ---- */

TEST(config_passthrough)
{
	struct parsed *p = parse("passthrough", 4);
	const struct cfg_vm *v;
	const struct cfg_passthrough *pt;

	if (!p)
		return;
	CHECK_EQ(p->nerr, 0);
	v = &p->sys.vm[0];
	CHECK(v->valid);
	CHECK(v->identity);
	CHECK_EQ(v->nr_pt, 1);
	pt = &v->pt[0];
	CHECK_STR(pt->name, "passthrough@a003e00");
	CHECK_EQ(pt->nr_regs, 1);
	CHECK_EQ(pt->reg[0].base, 0x0a003e00);
	CHECK_EQ(pt->reg[0].size, 0x200);
	CHECK_EQ(pt->nr_irqs, 1);
	CHECK_EQ(pt->irq[0], 79);
	CHECK_EQ(pt->compatible_len, 12);
	CHECK(memcmp(pt->compatible, "virtio,mmio", 12) == 0);
	CHECK(pt->dma);
	v = &p->sys.vm[1];
	CHECK(v->valid);
	CHECK(!v->identity);
	CHECK_EQ(v->nr_pt, 2);
	pt = &v->pt[0];
	CHECK_EQ(pt->nr_regs, 2);
	CHECK_EQ(pt->reg[1].base, 0x10100000);
	CHECK_EQ(pt->nr_irqs, 0);
	CHECK_EQ(pt->compatible_len, 24);
	CHECK(memcmp(pt->compatible, "acme,widget\0acme,gadget", 24) == 0);
	CHECK(!pt->dma);
	CHECK_EQ(v->pt[1].nr_irqs, 2);
	CHECK_EQ(v->pt[1].irq[1], 95);
	done(p);
}

/* The whole pages of a range are what the VM gets. */
TEST(config_passthrough_pages)
{
	struct cfg_region r = { 0x0a003e00, 0x200 };
	u64 b, s;

	cfg_pt_pages(&r, &b, &s);
	CHECK_EQ(b, 0x0a003000);
	CHECK_EQ(s, 0x1000);
	r = (struct cfg_region){ 0x20000f00, 0x200 };
	cfg_pt_pages(&r, &b, &s);
	CHECK_EQ(b, 0x20000000);
	CHECK_EQ(s, 0x2000);
	r = (struct cfg_region){ 0x20000000, 0x1000 };
	cfg_pt_pages(&r, &b, &s);
	CHECK_EQ(b, 0x20000000);
	CHECK_EQ(s, 0x1000);
}

TEST(config_bad_passthrough)
{
	struct parsed *p = parse("bad_passthrough", 0);
	static const char *const valid[] = { "good", NULL };

	if (!p)
		return;
	CHECK_MSG(p, "bad_passthrough.dts: vm 'nodma': field 'passthrough@20000000/dma': the device "
		     "does DMA and there is no IOMMU: the VM's RAM must be identity-mapped "
		     "(guest-physical == physical): add 'identity-map;'");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'props': field 'identity-map': takes no value (write "
		     "'identity-map;')");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'props': field 'passthrough@0/colour': unknown field "
		     "'colour'");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'props': field 'passthrough@0/reg': missing "
		     "(required: the device's register ranges)");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'props': field 'passthrough@0/interrupts': has 5 "
		     "interrupts (at most 4)");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'props': field 'passthrough@0/compatible': missing "
		     "(required: what the VM's device tree calls the device, as in \"virtio,mmio\")");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'props': field 'passthrough@1/reg': must be ranges "
		     "of 4 cells <base-hi base-lo size-hi size-lo>");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'props': field 'passthrough@1/compatible': must be "
		     "one or more non-empty strings, as in \"virtio,mmio\"");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'props': field 'passthrough@1/dma': takes no value "
		     "(write 'dma;')");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'props': field 'passthrough@2/reg': range at "
		     "0x22000000 has size 0");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'props': field 'passthrough@2/compatible': must be "
		     "one or more non-empty strings, as in \"virtio,mmio\"");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'props': field 'passthrough@3/reg': 0x7ffffff000 + "
		     "0x2000 ends above 512 GiB (the 39-bit stage-2 input range)");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'props': field 'passthrough@3/interrupts': INTID 1 is "
		     "an SGI, not an SPI (SPIs are INTIDs 32..95)");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'props': field 'passthrough@3/interrupts': INTID 4 is "
		     "an SGI, not an SPI (SPIs are INTIDs 32..95)");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'places': field 'passthrough@a/reg': pages "
		     "0x40fff000..0x41000000 overlap the VM's RAM 0x40000000..0x41000000");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'places': field 'passthrough@b/reg': pages "
		     "0x9000000..0x9001000 overlap the device window 0x8000000..0xa000000 (the VM's "
		     "GIC and PL011; the hypervisor's own GIC and UART on QEMU virt)");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'places': field 'passthrough@c/reg': pages "
		     "0x30000000..0x30001000 overlap the VM's PL011 at 0x30000000");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'places': field 'passthrough@d/reg': pages "
		     "0xa000000..0xa001000 overlap the VM's emulated virtio-blk@3 at 0xa000600 (a "
		     "virtio slot cannot be emulated and passed through)");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'irqs': field 'passthrough@a/interrupts': INTID 27 "
		     "is a PPI, not an SPI (SPIs are INTIDs 32..95)");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'irqs': field 'passthrough@a/interrupts': INTID 96 "
		     "is beyond the virtual GIC's SPIs (32..95)");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'irqs': field 'passthrough@a/interrupts': INTID 33 "
		     "is used by the VM's PL011");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'irqs': field 'passthrough@a/interrupts': INTID 50 "
		     "is used by the VM's emulated virtio-net@2");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'irqs': field 'passthrough@b/reg': pages "
		     "0x20000000..0x20002000 overlap those of passthrough@a (0x20000000..0x20001000)");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'irqs': field 'passthrough@b/interrupts': INTID 60 "
		     "is given twice (also passthrough@b)");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'others': field 'memory': identity-mapped RAM "
		     "0x88000000..0x89000000 overlaps that of vm 'good' (0x80000000..0x90000000)");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'others': field 'passthrough@a003e00/reg': pages "
		     "0xa003000..0xa004000 are already passed through to vm 'good' "
		     "(passthrough@a003e00)");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'others': field 'passthrough@a003e00/interrupts': "
		     "INTID 79 is already passed through to vm 'good' (passthrough@a003e00)");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'toomany': field 'passthrough': more than 4 "
		     "passed-through devices in one VM");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'chanvm': field 'passthrough@20000000/interrupts': "
		     "INTID 80 is the doorbell of channel 'chan0' in this VM");
	CHECK_MSG(p, "bad_passthrough.dts: vm 'chanvm': field 'passthrough@20000000/reg': pages "
		     "0x20000000..0x20001000 overlap channel 'chan1' (0x1ffff000..0x20001000)");
	CHECK_EQ(p->nerr, 30);
	check_valid(p, valid);
	done(p);
}

TEST(config_mediated_disks)
{
	struct parsed *p = parse("mediated", 0);
	static const char *const valid[] = { "good", NULL };

	if (!p)
		return;
	CHECK_MSG(p, "mediated.dts: vm 'relative': field 'virtio-blk@1/mediated': must be an "
		     "absolute path in the management VM");
	CHECK_MSG(p, "mediated.dts: vm 'unsized': field 'virtio-blk@1/mediated': needs 'size' "
		     "(the hypervisor tells the guest the capacity)");
	CHECK_MSG(p, "mediated.dts: vm 'both': field 'virtio-blk@1/mediated': a mediated disk's "
		     "contents are its file's: no 'image'");
	CHECK_EQ(p->nerr, 3);
	check_valid(p, valid);
	CHECK_STR(p->sys.vm[0].disk[0].mediated, "/tmp/store.img");
	CHECK_EQ(p->sys.vm[0].disk[0].size, 0x4000000);
	CHECK(p->sys.vm[0].disk[0].image == NULL);
	done(p);
}
