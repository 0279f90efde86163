/* Tests for data abort decoding (hyp/arch/aarch64/mmio_decode.c) and the per-VM MMIO region
 * table and dispatch (hyp/core/mmio.c). Syndromes are built by hand from the Arm ARM's
 * ESR_EL2 layout for data aborts (ISS encoding for an exception from a Data Abort). */
#include <stdlib.h>

#include <arch/mmio_decode.h>
#include <bulkhead/errno.h>
#include <bulkhead/mmio.h>

#include "unit.h"

/* ESR_EL2 fields */
#define EC(x) ((u64)(x) << 26)
#define IL BIT(25)
#define ISV BIT(24)
#define SAS(x) ((u64)(x) << 22)
#define SSE BIT(21)
#define SRT(x) ((u64)(x) << 16)
#define SF BIT(15)
#define AR BIT(14)
#define FNV BIT(10)
#define S1PTW BIT(7)
#define WNR BIT(6)
#define DFSC_TRANS_L3 0x07

/* A stage-2 translation fault from EL1 with a valid syndrome. */
static u64 dabt(u32 sas, bool sse, u32 srt, bool sf, bool wnr)
{
	return EC(0x24) | IL | ISV | SAS(sas) | (sse ? SSE : 0) | SRT(srt) | (sf ? SF : 0) |
	       (wnr ? WNR : 0) | DFSC_TRANS_L3;
}

/* Decodes esr and checks every field. */
static void check_decode(int line, u64 esr, u8 width, bool write, u8 reg, bool sext, bool r64)
{
	struct mmio_access a;

	memset(&a, 0xA5, sizeof(a));
	a.write = !write; /* poison the bools with the wrong (but valid) values */
	a.sign_extend = !sext;
	a.reg64 = !r64;
	if (!mmio_decode(esr, 0x09000010, &a)) {
		unit_fail(__FILE__, line, "mmio_decode(0x%" PRIx64 ") failed", esr);
		return;
	}
	if (a.addr != 0x09000010 || a.width != width || a.write != write || a.reg != reg ||
	    a.sign_extend != sext || a.reg64 != r64 || a.value != 0)
		unit_fail(__FILE__, line,
			  "esr 0x%" PRIx64 ": addr 0x%" PRIx64 " width %u write %d reg %u sext %d "
			  "reg64 %d value 0x%" PRIx64,
			  esr, a.addr, a.width, a.write, a.reg, a.sign_extend, a.reg64, a.value);
}

/* Real instructions' syndromes, computed by hand, decode to the expected access. */
TEST(mmio_decode_known_syndromes)
{
	/* str w1, [x0]: EC 0x24, IL, ISV, SAS 2, SRT 1, WnR, DFSC 0x07 */
	CHECK_EQ(dabt(2, false, 1, false, true), 0x93810047);
	check_decode(__LINE__, 0x93810047, 4, true, 1, false, false);
	/* ldrsb x3, [x0]: SAS 0, SSE, SRT 3, SF */
	CHECK_EQ(dabt(0, true, 3, true, false), 0x93238007);
	check_decode(__LINE__, 0x93238007, 1, false, 3, true, true);
	/* ldr x30, [x1]: SAS 3, SRT 30, SF */
	CHECK_EQ(dabt(3, false, 30, true, false), 0x93DE8007);
	check_decode(__LINE__, 0x93DE8007, 8, false, 30, false, true);
	/* strh wzr, [x0]: SAS 1, SRT 31, WnR */
	CHECK_EQ(dabt(1, false, 31, false, true), 0x935F0047);
	check_decode(__LINE__, 0x935F0047, 2, true, 31, false, false);
}

/* Each field independently: all widths, directions, registers, SSE and SF combinations; AR,
 * DFSC and ISS2 (bits 36:32) do not matter. */
TEST(mmio_decode_fields)
{
	for (u32 sas = 0; sas < 4; sas++)
		for (u32 srt = 0; srt < 32; srt++)
			for (int flags = 0; flags < 8; flags++) {
				bool sse = flags & 1, sf = flags & 2, wnr = flags & 4;
				u64 esr = dabt(sas, sse, srt, sf, wnr);

				check_decode(__LINE__, esr, (u8)(1 << sas), wnr, (u8)srt, sse, sf);
				check_decode(__LINE__, esr | AR | (0x1FULL << 32), (u8)(1 << sas),
					     wnr, (u8)srt, sse, sf);
			}
	/* Without IL (16-bit instruction: not possible in AArch64, but not our concern). */
	check_decode(__LINE__, dabt(2, false, 5, false, false) & ~IL, 4, false, 5, false, false);
}

/* Syndromes that cannot be emulated: ISV=0, S1PTW, FnV, another exception class. */
TEST(mmio_decode_refuses)
{
	struct mmio_access a;
	u64 good = dabt(2, false, 1, false, true);

	CHECK(mmio_decode(good, 0x1000, &a));
	CHECK(!mmio_decode(good & ~ISV, 0x1000, &a));
	CHECK(!mmio_decode(good | S1PTW, 0x1000, &a));
	CHECK(!mmio_decode(good | FNV, 0x1000, &a));
	CHECK(!mmio_decode((good & ~EC(0x3F)) | EC(0x20), 0x1000, &a)); /* instruction abort */
	CHECK(!mmio_decode((good & ~EC(0x3F)) | EC(0x00), 0x1000, &a)); /* unknown */
	CHECK(!mmio_decode((good & ~EC(0x3F)) | EC(0x16), 0x1000, &a)); /* HVC */
	CHECK(!mmio_decode((good & ~EC(0x3F)) | EC(0x18), 0x1000, &a)); /* MSR/MRS */
	CHECK(!mmio_decode((good & ~EC(0x3F)) | EC(0x2F), 0x1000, &a)); /* SError */
	CHECK(!mmio_decode(0, 0x1000, &a));
	/* Real syndromes: EC 0x25, IL, ISV=0, DFSC 0x10 (synchronous external abort), read and
	 * write. */
	CHECK_EQ(0x96000010ULL >> 26, 0x25);
	CHECK(!mmio_decode(0x96000010, 0x1000, &a));
	CHECK(!mmio_decode(0x96000050, 0x1000, &a));
	/* The same from a lower EL (EC 0x24) without ISV: still refused. */
	CHECK(!mmio_decode(0x92000010, 0x1000, &a));
	CHECK(!mmio_decode(0x92000050, 0x1000, &a));
}

/* HPFAR_EL2.FIPA (bits 43:4) holds IPA[47:12]; FAR_EL2 gives the offset in the page. */
TEST(mmio_dabt_ipa)
{
	/* IPA 0x09000123: page 0x09000 -> HPFAR 0x90000; FAR is a guest VA with offset 0x123. */
	CHECK_EQ(dabt_ipa(0x90000, 0xFFFF800012345123ULL), 0x09000123);
	CHECK_EQ(dabt_ipa(0x90000, 0), 0x09000000);
	CHECK_EQ(dabt_ipa(0, 0xFFF), 0xFFF);
	/* Top of a 39-bit IPA space: page 0x7FFFFFF. */
	CHECK_EQ(dabt_ipa(0x7FFFFFF0, 0xFFF), 0x7FFFFFFFFFULL);
	/* Top of a 48-bit IPA space: IPA[47:12] = 0xFFFFFFFFF. */
	CHECK_EQ(dabt_ipa(0xFFFFFFFFF0ULL, 0xABC), 0xFFFFFFFFFABCULL);
	/* HPFAR bits 3:0 (RES0) and bit 63 (NS) are not part of the address. */
	CHECK_EQ(dabt_ipa(BIT(63) | 0x9000F, 0x10), 0x09000010);
	/* Only FAR's low 12 bits count. */
	CHECK_EQ(dabt_ipa(0x12340, 0x7FFFF000ULL | 0x8), 0x01234008);
}

/* A fake device that records its last call and answers with a fixed result. */
struct fake_dev {
	int reads, writes;
	u64 off;
	u32 width;
	u64 value;     /* written value, or value to return for reads */
	bool ok;
};

static bool fake_read(void *dev, u64 offset, u32 width, u64 *value)
{
	struct fake_dev *d = dev;

	d->reads++;
	d->off = offset;
	d->width = width;
	*value = d->value;
	return d->ok;
}

static bool fake_write(void *dev, u64 offset, u32 width, u64 value)
{
	struct fake_dev *d = dev;

	d->writes++;
	d->off = offset;
	d->width = width;
	d->value = value;
	return d->ok;
}

static const struct mmio_ops fake_ops = { "fake", fake_read, fake_write };
static const struct mmio_ops readonly_ops = { "ro", fake_read, NULL };

/* Regions stay sorted by base whatever the insertion order, with their ops and dev. */
TEST(mmio_add_sorted)
{
	struct mmio_table t = { 0 };
	int devs[4];
	const u64 bases[4] = { 0x30000, 0x10000, 0x20000, 0x0 };
	const int order[4] = { 3, 1, 2, 0 }; /* index in sorted order of each insertion */

	for (int i = 0; i < 4; i++) {
		CHECK_EQ(mmio_add(&t, bases[i], 0x1000, &fake_ops, &devs[i]), E_OK);
		CHECK_EQ(t.count, i + 1);
	}
	for (u32 i = 0; i < 4; i++) {
		CHECK_EQ(t.r[i].base, 0x10000 * i);
		CHECK_EQ(t.r[i].size, 0x1000);
		CHECK(t.r[i].ops == &fake_ops);
		CHECK_EQ(t.r[i].index, i); /* renumbered when an insertion moved it */
	}
	for (int i = 0; i < 4; i++)
		CHECK(t.r[order[i]].dev == &devs[i]);

	/* Descending insertion of 16. */
	memset(&t, 0, sizeof(t));
	for (int i = VM_MAX_MMIO - 1; i >= 0; i--)
		CHECK_EQ(mmio_add(&t, 0x100000 + 0x1000 * (u64)i, 0x100, &fake_ops, NULL), E_OK);
	CHECK_EQ(t.count, VM_MAX_MMIO);
	for (u32 i = 0; i < VM_MAX_MMIO; i++) {
		CHECK_EQ(t.r[i].base, 0x100000 + 0x1000 * (u64)i);
		CHECK_EQ(t.r[i].index, i);
	}
}

/* Overlaps are refused (nothing changed), including by one byte at either end; touching
 * regions are fine. */
TEST(mmio_add_overlap_edges)
{
	struct mmio_table t = { 0 }, saved;

	CHECK_EQ(mmio_add(&t, 0x1000, 0x1000, &fake_ops, NULL), E_OK); /* [0x1000, 0x2000) */
	CHECK_EQ(mmio_add(&t, 0x5000, 0x1000, &fake_ops, NULL), E_OK); /* [0x5000, 0x6000) */
	saved = t;

	static const struct {
		u64 base, size;
	} bad[] = {
		{ 0x1000, 0x1000 }, /* identical */
		{ 0x1000, 1 },      /* same base, smaller */
		{ 0x1FFF, 1 },      /* last byte */
		{ 0x1FFF, 0x10 },   /* last byte and beyond */
		{ 0x0, 0x1001 },    /* one byte into the start */
		{ 0xFFF, 2 },
		{ 0x1800, 0x100 },  /* inside */
		{ 0x800, 0x4000 },  /* covers the first */
		{ 0x0, 0x10000 },   /* covers both */
		{ 0x1FFF, 0x3002 }, /* from the first's last byte to the second's first */
		{ 0x4FFF, 2 },
		{ 0x5FFF, ~0ULL - 0x5FFF }, /* from the second's last byte to the top */
	};
	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_EQ(mmio_add(&t, bad[i].base, bad[i].size, &fake_ops, NULL), E_OVERLAP);
		CHECK(memcmp(&t, &saved, sizeof(t)) == 0);
	}

	/* Touching: just below, just above, exactly filling the gap. */
	CHECK_EQ(mmio_add(&t, 0x0, 0x1000, &fake_ops, NULL), E_OK);
	CHECK_EQ(mmio_add(&t, 0x6000, 0x1000, &fake_ops, NULL), E_OK);
	CHECK_EQ(mmio_add(&t, 0x2000, 0x3000, &fake_ops, NULL), E_OK);
	CHECK_EQ(t.count, 5);
	for (u32 i = 0; i + 1 < t.count; i++)
		CHECK_EQ(t.r[i].base + t.r[i].size, t.r[i + 1].base);
}

/* Empty, wrapping, or ops-less regions are E_INVAL; the region ending at the very last byte
 * of the address space is fine. */
TEST(mmio_add_invalid)
{
	struct mmio_table t = { 0 };

	CHECK_EQ(mmio_add(&t, 0x1000, 0, &fake_ops, NULL), E_INVAL);
	CHECK_EQ(mmio_add(&t, 0xFFFFFFFFFFFFF000ULL, 0x2000, &fake_ops, NULL), E_INVAL);
	CHECK_EQ(mmio_add(&t, 1, ~0ULL, &fake_ops, NULL), E_INVAL);
	CHECK_EQ(mmio_add(&t, 0x1000, 0x1000, NULL, NULL), E_INVAL);
	CHECK_EQ(t.count, 0);
	CHECK_EQ(mmio_add(&t, 0xFFFFFFFFFFFFF000ULL, 0xFFF, &fake_ops, NULL), E_OK);
	CHECK(mmio_find(&t, ~0ULL - 1) == &t.r[0]);
	CHECK(mmio_find(&t, ~0ULL) == NULL);
}

/* The 17th region is E_FULL and leaves the table as it was. */
TEST(mmio_add_full)
{
	struct mmio_table t = { 0 }, saved;

	for (u64 i = 0; i < VM_MAX_MMIO; i++)
		CHECK_EQ(mmio_add(&t, 0x10000 * (i + 1), 0x1000, &fake_ops, NULL), E_OK);
	saved = t;
	CHECK_EQ(mmio_add(&t, 0x0, 0x1000, &fake_ops, NULL), E_FULL);
	CHECK_EQ(mmio_add(&t, 0x10000 * (VM_MAX_MMIO + 1), 0x1000, &fake_ops, NULL), E_FULL);
	CHECK_EQ(mmio_add(&t, 0x18000, 0x1000, &fake_ops, NULL), E_FULL);
	CHECK_EQ(t.count, VM_MAX_MMIO);
	CHECK(memcmp(&t, &saved, sizeof(t)) == 0);
}

/* For every table size 0..16, the binary search finds the first and last byte of each region
 * and nothing in the gaps, below or above. */
TEST(mmio_find_every_size)
{
	for (u32 n = 0; n <= VM_MAX_MMIO; n++) {
		struct mmio_table t = { 0 };

		/* Region k: [0x10000 * (k + 1), + 0x100 * (k + 1)), inserted in a shuffled order. */
		for (u32 j = 0; j < n; j++) {
			u32 k = (j * 7) % n; /* 7 is coprime with every n <= 16 except 7 and 14 */

			if (n % 7 == 0)
				k = n - 1 - j;
			CHECK_EQ(mmio_add(&t, 0x10000 * (u64)(k + 1), 0x100 * (u64)(k + 1), &fake_ops,
					  NULL), E_OK);
		}
		CHECK_EQ(t.count, n);
		CHECK(mmio_find(&t, 0) == NULL);
		CHECK(mmio_find(&t, 0xFFFF) == NULL);
		CHECK(mmio_find(&t, ~0ULL) == NULL);
		for (u32 k = 0; k < n; k++) {
			u64 base = 0x10000 * (u64)(k + 1), size = 0x100 * (u64)(k + 1);

			CHECK(mmio_find(&t, base) == &t.r[k]);
			CHECK(mmio_find(&t, base + size / 2) == &t.r[k]);
			CHECK(mmio_find(&t, base + size - 1) == &t.r[k]);
			CHECK(mmio_find(&t, base - 1) == NULL);
			CHECK(mmio_find(&t, base + size) == NULL);
		}
		CHECK(mmio_find(&t, 0x10000 * (u64)(n + 1)) == NULL);
	}
}

/* Dispatch: the owning device gets offset = addr - base, the width and the value; reads
 * return the device's value; other devices are not called. */
TEST(mmio_emulate_dispatch)
{
	struct mmio_table t = { 0 };
	struct fake_dev uart = { .ok = true }, gic = { .ok = true, .value = 0x1122334455667788 };
	struct mmio_access a = { 0 };

	CHECK_EQ(mmio_add(&t, 0x09000000, 0x1000, &fake_ops, &uart), E_OK);
	CHECK_EQ(mmio_add(&t, 0x08000000, 0x10000, &fake_ops, &gic), E_OK);

	a = (struct mmio_access){ .addr = 0x09000018, .width = 4, .write = true,
				  .value = 0xDEADBEEF };
	CHECK(mmio_emulate(&t, &a));
	CHECK_EQ(uart.writes, 1);
	CHECK_EQ(uart.reads, 0);
	CHECK_EQ(uart.off, 0x18);
	CHECK_EQ(uart.width, 4);
	CHECK_EQ(uart.value, 0xDEADBEEF);
	CHECK_EQ(gic.reads + gic.writes, 0);

	a = (struct mmio_access){ .addr = 0x0800FFF8, .width = 8, .write = false };
	CHECK(mmio_emulate(&t, &a));
	CHECK_EQ(gic.reads, 1);
	CHECK_EQ(gic.off, 0xFFF8);
	CHECK_EQ(gic.width, 8);
	CHECK_EQ(a.value, 0x1122334455667788);
	CHECK_EQ(uart.reads + uart.writes, 1);

	a = (struct mmio_access){ .addr = 0x09000000, .width = 1, .write = false };
	uart.value = 0x41;
	CHECK(mmio_emulate(&t, &a));
	CHECK_EQ(uart.reads, 1);
	CHECK_EQ(uart.off, 0);
	CHECK_EQ(uart.width, 1);
	CHECK_EQ(a.value, 0x41);
}

/* An access straddling the end of its region, a device refusal, a missing handler and an
 * unowned address all return false. */
TEST(mmio_emulate_refusals)
{
	struct mmio_table t = { 0 };
	struct fake_dev d = { .ok = true }, ro = { .ok = true };
	struct mmio_access a;

	CHECK_EQ(mmio_add(&t, 0x09000000, 0x1000, &fake_ops, &d), E_OK);
	CHECK_EQ(mmio_add(&t, 0x09001000, 0x1000, &readonly_ops, &ro), E_OK);

	/* Last 4 bytes: fine. One byte further: straddles, device not called. */
	a = (struct mmio_access){ .addr = 0x09000FFC, .width = 4, .write = true, .value = 1 };
	CHECK(mmio_emulate(&t, &a));
	CHECK_EQ(d.writes, 1);
	CHECK_EQ(d.off, 0xFFC);
	a = (struct mmio_access){ .addr = 0x09000FFD, .width = 4, .write = true, .value = 1 };
	CHECK(!mmio_emulate(&t, &a));
	a = (struct mmio_access){ .addr = 0x09000FF9, .width = 8, .write = false };
	CHECK(!mmio_emulate(&t, &a));
	a = (struct mmio_access){ .addr = 0x09000FFF, .width = 1, .write = false };
	CHECK(mmio_emulate(&t, &a));
	CHECK_EQ(d.writes, 1);
	CHECK_EQ(d.reads, 1);
	CHECK_EQ(ro.reads + ro.writes, 0); /* the straddling accesses went nowhere */

	/* The device says no: false, but it was asked. */
	d.ok = false;
	a = (struct mmio_access){ .addr = 0x09000010, .width = 2, .write = true, .value = 7 };
	CHECK(!mmio_emulate(&t, &a));
	CHECK_EQ(d.writes, 2);
	CHECK_EQ(d.off, 0x10);
	CHECK_EQ(d.width, 2);
	a = (struct mmio_access){ .addr = 0x09000020, .width = 4, .write = false };
	CHECK(!mmio_emulate(&t, &a));
	CHECK_EQ(d.reads, 2);

	/* No write handler: false; reads still work. */
	a = (struct mmio_access){ .addr = 0x09001000, .width = 4, .write = true };
	CHECK(!mmio_emulate(&t, &a));
	a = (struct mmio_access){ .addr = 0x09001004, .width = 4, .write = false };
	CHECK(mmio_emulate(&t, &a));
	CHECK_EQ(ro.reads, 1);
	CHECK_EQ(ro.off, 4);

	/* Nobody there. */
	d.ok = true;
	a = (struct mmio_access){ .addr = 0x09002000, .width = 4, .write = false };
	CHECK(!mmio_emulate(&t, &a));
	a = (struct mmio_access){ .addr = 0x08FFFFFC, .width = 4, .write = true };
	CHECK(!mmio_emulate(&t, &a));
	CHECK_EQ(d.reads, 2);
	CHECK_EQ(d.writes, 2);
	CHECK_EQ(ro.reads, 1);
}
