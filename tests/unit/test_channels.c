/* Tests for the shared-memory channels of the configuration (/channels in hyp/core/config.c):
 * parsed values of good channels and the exact message for each kind of mistake. */
#include <stdlib.h>

#include <bulkhead/config.h>

#include "unit.h"

#ifndef UNIT_CONFIG_DIR
#define UNIT_CONFIG_DIR "build/unit/configs"
#endif

struct chparsed {
	u32 nerr;
	struct cfg_system sys;
	struct cfg_errors errs;
	char all[CFG_MAX_ERRORS * (CFG_ERR_LEN + 1) + 2]; /* "\n" + each message + "\n" */
};

/* Parses UNIT_CONFIG_DIR/name.dtb as "name.dts" on a 4-CPU machine; NULL if it cannot be read. */
static struct chparsed *chparse(const char *name)
{
	struct chparsed *p = calloc(1, sizeof(*p));
	struct cfg_limits lim = { 4 };
	char path[512], file[128];
	uint8_t *blob;
	size_t off = 1;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dtb", UNIT_CONFIG_DIR, name);
	f = fopen(path, "rb");
	if (!f) {
		unit_fail(__FILE__, __LINE__, "cannot open %s (run `make unit`)", path);
		free(p);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	blob = malloc((size_t)n);
	CHECK(fread(blob, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	snprintf(file, sizeof(file), "%s.dts", name);
	p->nerr = config_parse(blob, (u64)n, file, &lim, &p->sys, &p->errs);
	free(blob); /* names are copied; only VM strings point into the blob */
	p->all[0] = '\n';
	for (u32 i = 0; i < p->errs.count; i++)
		off += (size_t)snprintf(p->all + off, sizeof(p->all) - off, "%s\n", p->errs.msg[i]);
	return p;
}

#define CHECK_MSG(p, line) CHECK_CONTAINS((p)->all, "\n" line "\n")

/* VM 'bad' (vcpus = <9>) is in every file: its message, and how many messages there are. */
#define CHECK_COUNT(p, file, n)                                                                   \
	do {                                                                                      \
		CHECK_MSG(p, file ": vm 'bad': field 'vcpus': 9 is out of range (1..8)");          \
		CHECK_EQ((p)->errs.count, (n) + 1);                                               \
	} while (0)

TEST(channels_good_values)
{
	struct chparsed *p = chparse("channels");
	const struct cfg_channel *c;

	if (!p)
		return;
	CHECK_COUNT(p, "channels.dts", 0);
	CHECK_EQ(p->sys.nr_vms, 4);
	CHECK_EQ(p->sys.nr_channels, 4);
	c = &p->sys.chan[0];
	CHECK_STR(c->name, "chan0");
	CHECK(c->valid);
	CHECK_EQ(c->id, 0);
	CHECK_EQ(c->vm[0], 0);
	CHECK_EQ(c->vm[1], 1);
	CHECK_EQ(c->ipa, 0x20000000);
	CHECK_EQ(c->size, 0x10000);
	c = &p->sys.chan[1]; /* right after chan0's doorbell page in alpha; role 0 is gamma */
	CHECK_STR(c->name, "side-1");
	CHECK(c->valid);
	CHECK_EQ(c->id, 1);
	CHECK_EQ(c->vm[0], 2);
	CHECK_EQ(c->vm[1], 0);
	CHECK_EQ(c->ipa, 0x20011000);
	CHECK_EQ(c->size, 0x1000);
	c = &p->sys.chan[2]; /* 16 MiB, the most */
	CHECK(c->valid);
	CHECK_EQ(c->ipa, 0x7e00000000ULL);
	CHECK_EQ(c->size, CFG_CHAN_SIZE_MAX);
	c = &p->sys.chan[3]; /* the doorbell page ends exactly at 512 GiB */
	CHECK(c->valid);
	CHECK_EQ(c->ipa + c->size + CFG_CHAN_DOORBELL, CFG_IPA_LIMIT);
	for (u32 i = 0; i < 3; i++)
		CHECK(p->sys.vm[i].valid); /* channels never make a VM invalid */
	free(p);
}

TEST(channels_bad_vms)
{
	struct chparsed *p = chparse("bad_chan_vms");

	if (!p)
		return;
	CHECK_COUNT(p, "bad_chan_vms.dts", 4);
	CHECK_MSG(p, "bad_chan_vms.dts: channel 'ghost': field 'vms': VM 'ghost' does not exist");
	CHECK_MSG(p, "bad_chan_vms.dts: channel 'twice': field 'vms': names VM 'alpha' twice (a "
		     "channel joins two VMs)");
	CHECK_MSG(p, "bad_chan_vms.dts: channel 'refused': field 'vms': VM 'bad' is refused (see "
		     "its errors)");
	CHECK_MSG(p, "bad_chan_vms.dts: channel 'three': field 'vms': must be two VM names, as in "
		     "\"alpha\", \"beta\"");
	for (u32 i = 0; i < p->sys.nr_channels; i++)
		CHECK(!p->sys.chan[i].valid);
	CHECK(p->sys.vm[0].valid && p->sys.vm[1].valid && p->sys.vm[2].valid);
	free(p);
}

TEST(channels_bad_size)
{
	struct chparsed *p = chparse("bad_chan_size");

	if (!p)
		return;
	CHECK_COUNT(p, "bad_chan_size.dts", 5);
	CHECK_MSG(p, "bad_chan_size.dts: channel 'zero': field 'size': size is 0 (at least 4 KiB)");
	CHECK_MSG(p, "bad_chan_size.dts: channel 'odd': field 'size': 0x1800 is not a multiple of 4 "
		     "KiB");
	CHECK_MSG(p, "bad_chan_size.dts: channel 'huge': field 'size': 0x1001000 is more than 16 "
		     "MiB");
	CHECK_MSG(p, "bad_chan_size.dts: channel 'cells': field 'size': must be 2 cells <size-hi "
		     "size-lo>");
	CHECK_MSG(p, "bad_chan_size.dts: channel 'cells': field 'ipa': must be 2 cells <base-hi "
		     "base-lo>");
	free(p);
}

TEST(channels_bad_ipa)
{
	struct chparsed *p = chparse("bad_chan_ipa");

	if (!p)
		return;
	CHECK_COUNT(p, "bad_chan_ipa.dts", 5);
	CHECK_MSG(p, "bad_chan_ipa.dts: channel 'unaligned': field 'ipa': 0x20000800 is not 4 KiB "
		     "aligned");
	CHECK_MSG(p, "bad_chan_ipa.dts: channel 'ram': field 'ipa': 0x40ff8000..0x41009000 "
		     "overlaps the RAM of VM 'alpha' (0x40000000..0x41000000)");
	CHECK_MSG(p, "bad_chan_ipa.dts: channel 'devwin': field 'ipa': 0x9fff000..0xa001000 "
		     "overlaps the device window 0x8000000..0xa000000");
	CHECK_MSG(p, "bad_chan_ipa.dts: channel 'devwin': field 'ipa': 0x9fff000..0xa001000 "
		     "overlaps the virtio-mmio slots 0xa000000..0xa004000");
	CHECK_MSG(p, "bad_chan_ipa.dts: channel 'uart': field 'ipa': 0x2ffff000..0x30001000 "
		     "overlaps the PL011 of VM 'beta' at 0x30000000");
	free(p);
}

TEST(channels_bad_misc)
{
	struct chparsed *p = chparse("bad_chan_misc");

	if (!p)
		return;
	CHECK_COUNT(p, "bad_chan_misc.dts", 6);
	CHECK(p->sys.chan[0].valid);
	CHECK_MSG(p, "bad_chan_misc.dts: channel 'clash': field 'ipa': 0x20010000..0x20012000 "
		     "overlaps channel 'chan0' in VM 'beta'");
	CHECK_MSG(p, "bad_chan_misc.dts: channel 'Field': field 'name': invalid character 'F' (use "
		     "a-z, 0-9, '-' and '_')");
	CHECK_MSG(p, "bad_chan_misc.dts: channel 'Field': field 'colour': unknown field 'colour'");
	CHECK_MSG(p, "bad_chan_misc.dts: channel 'Field': field 'ipa': 0x7ffffff000 + size 0x1000 "
		     "and the doorbell page end above 512 GiB (the 39-bit stage-2 input range)");
	CHECK_MSG(p, "bad_chan_misc.dts: channel 'virtio': field 'ipa': 0xa003000..0xa005000 "
		     "overlaps the virtio-mmio slots 0xa000000..0xa004000");
	CHECK_MSG(p, "bad_chan_misc.dts: channel 'extra': field 'name': more than 4 channels (the "
		     "channels after the first 4 are refused)");
	CHECK_EQ(p->sys.nr_channels, CFG_MAX_CHANNELS);
	free(p);
}
