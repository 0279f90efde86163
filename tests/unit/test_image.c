/* Tests for boot image placement (hyp/core/image.c). Images live in malloc'd buffers of
 * exactly their size so ASan catches any read past the end. */
#include <stdlib.h>

#include <bulkhead/image.h>

#include "unit.h"

static u8 *buf(u64 size, u8 fill)
{
	u8 *p = malloc(size ? size : 1);

	memset(p, fill, size);
	return p;
}

static void put_le64(u8 *p, u64 v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (u8)(v >> (8 * i));
}

/* An arm64 Image of size bytes with the given header fields. */
static u8 *arm64_image(u64 size, u64 text_offset, u64 image_size)
{
	u8 *p = buf(size, 0);

	p[0] = 0x4D; /* "MZ", as a real Image starts; irrelevant to placement */
	p[1] = 0x5A;
	put_le64(p + 8, text_offset);
	put_le64(p + 16, image_size);
	memcpy(p + 0x38, "ARM\x64", 4);
	return p;
}

/* Anything without the header is flat: offset 0, span = file size. */
TEST(image_flat)
{
	struct image_place pl;
	u8 *p = buf(100, 0xAA);

	memset(&pl, 0xFF, sizeof(pl));
	pl.linux = true;
	CHECK(image_place(p, 100, MiB(1), &pl) == NULL);
	CHECK_EQ(pl.offset, 0);
	CHECK_EQ(pl.span, 100);
	CHECK(!pl.linux);
	free(p);

	/* 4 KiB with a wrong magic (one byte off) at 0x38: flat. */
	p = arm64_image(KiB(4), 0x80000, MiB(2));
	p[0x3B] = 0x65;
	CHECK(image_place(p, KiB(4), MiB(16), &pl) == NULL);
	CHECK(!pl.linux);
	CHECK_EQ(pl.offset, 0);
	CHECK_EQ(pl.span, KiB(4));
	free(p);
}

/* Header fields are little-endian: offset = text_offset, span = image_size when the file is
 * smaller (BSS), else the file size. */
TEST(image_arm64_header)
{
	struct image_place pl;
	u8 *p = arm64_image(KiB(8), 0x12345000, 0x01234000);

	CHECK_EQ(p[8], 0x00);
	CHECK_EQ(p[9], 0x50);
	CHECK_EQ(p[10], 0x34);
	CHECK_EQ(p[11], 0x12);
	CHECK(image_place(p, KiB(8), GiB(1), &pl) == NULL);
	CHECK(pl.linux);
	CHECK_EQ(pl.offset, 0x12345000);
	CHECK_EQ(pl.span, 0x01234000);
	free(p);

	/* image_size smaller than the file (bogus, but the file must still fit). */
	p = arm64_image(KiB(8), 0, 0x40);
	CHECK(image_place(p, KiB(8), GiB(1), &pl) == NULL);
	CHECK(pl.linux);
	CHECK_EQ(pl.offset, 0);
	CHECK_EQ(pl.span, KiB(8));
	free(p);

	/* Exactly 64 bytes: the header is complete. */
	p = arm64_image(64, 0x200000, MiB(3));
	CHECK(image_place(p, 64, GiB(1), &pl) == NULL);
	CHECK(pl.linux);
	CHECK_EQ(pl.offset, 0x200000);
	CHECK_EQ(pl.span, MiB(3));
	free(p);
}

/* image_size 0 marks a pre-3.17 kernel: text_offset is 0x80000 whatever the field says. */
TEST(image_arm64_legacy)
{
	struct image_place pl;
	u8 *p = arm64_image(KiB(12), 0x1000, 0);

	CHECK(image_place(p, KiB(12), MiB(64), &pl) == NULL);
	CHECK(pl.linux);
	CHECK_EQ(pl.offset, 0x80000);
	CHECK_EQ(pl.span, KiB(12));
	free(p);

	/* Even a misaligned field is then irrelevant. */
	p = arm64_image(KiB(12), 0x80800, 0);
	CHECK(image_place(p, KiB(12), MiB(64), &pl) == NULL);
	CHECK_EQ(pl.offset, 0x80000);
	free(p);
}

/* text_offset not 4 KiB aligned is refused. */
TEST(image_arm64_misaligned)
{
	struct image_place pl;
	const u64 bad[] = { 0x80800, 0x80001, 0x800, 0x7FFFF, 0xFFF };

	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		u8 *p = arm64_image(KiB(4), bad[i], MiB(1));

		CHECK_CONTAINS(image_place(p, KiB(4), GiB(1), &pl), "text_offset");
		free(p);
	}
}

/* RAM size boundary: fitting exactly is fine, one byte more is refused; for a Linux Image
 * the offset counts, and an offset at or past the end of RAM is refused. */
TEST(image_too_big)
{
	struct image_place pl;
	u8 *p = buf(KiB(64), 0);

	CHECK(image_place(p, KiB(64), KiB(64), &pl) == NULL);
	CHECK_EQ(pl.span, KiB(64));
	CHECK_CONTAINS(image_place(p, KiB(64), KiB(64) - 1, &pl), "does not fit");
	CHECK_CONTAINS(image_place(p, KiB(64), 0, &pl), "does not fit");
	free(p);

	p = arm64_image(KiB(64), 0x80000, MiB(2));
	CHECK(image_place(p, KiB(64), 0x80000 + MiB(2), &pl) == NULL);
	CHECK_EQ(pl.offset, 0x80000);
	CHECK_EQ(pl.span, MiB(2));
	CHECK_CONTAINS(image_place(p, KiB(64), 0x80000 + MiB(2) - 1, &pl), "does not fit");
	CHECK_CONTAINS(image_place(p, KiB(64), 0x80000, &pl), "does not fit");
	CHECK_CONTAINS(image_place(p, KiB(64), 0x7F000, &pl), "does not fit");
	free(p);

	/* The file, not image_size, is the larger: it decides. */
	p = arm64_image(KiB(64), 0x80000, KiB(4));
	CHECK(image_place(p, KiB(64), 0x80000 + KiB(64), &pl) == NULL);
	CHECK_CONTAINS(image_place(p, KiB(64), 0x80000 + KiB(64) - 1, &pl), "does not fit");
	free(p);

	/* Huge header values must not overflow into "fits". */
	p = arm64_image(KiB(4), 0xFFFFFFFFFFFFF000ULL, MiB(1));
	CHECK_CONTAINS(image_place(p, KiB(4), ~0ULL, &pl), "does not fit");
	free(p);
	p = arm64_image(KiB(4), 0x80000, ~0ULL);
	CHECK_CONTAINS(image_place(p, KiB(4), ~0ULL, &pl), "does not fit");
	free(p);
}

/* An empty image is refused. */
TEST(image_empty)
{
	struct image_place pl;
	u8 *p = buf(0, 0);

	CHECK_CONTAINS(image_place(p, 0, GiB(1), &pl), "empty");
	free(p);
}

/* Files shorter than the 64-byte header are flat, even with the magic where it belongs; no
 * byte past the end is read (ASan). */
TEST(image_short_is_flat)
{
	struct image_place pl;
	u8 *p = buf(40, 0x11);

	CHECK(image_place(p, 40, MiB(1), &pl) == NULL);
	CHECK(!pl.linux);
	CHECK_EQ(pl.offset, 0);
	CHECK_EQ(pl.span, 40);
	free(p);

	p = buf(63, 0);
	put_le64(p + 8, 0x80000);
	put_le64(p + 16, MiB(2));
	memcpy(p + 0x38, "ARM\x64", 4);
	CHECK(image_place(p, 63, MiB(1), &pl) == NULL);
	CHECK(!pl.linux);
	CHECK_EQ(pl.offset, 0);
	CHECK_EQ(pl.span, 63);
	free(p);

	p = buf(1, 0x41);
	CHECK(image_place(p, 1, 1, &pl) == NULL);
	CHECK(!pl.linux);
	CHECK_EQ(pl.span, 1);
	free(p);
}
