/* Tests for the emulated PL061 and its power button (hyp/core/dev/vgpio_pl061.c), driven through
 * its registers as Linux's gpio-pl061 and gpio-keys drivers drive it: identity, register
 * widths and masks, GPIODATA's address mask, edges and levels, the interrupt line, GPIOIC. */
#include <stdarg.h>

/* The device is compiled into this file with its two outside calls renamed, so that these
 * fakes do not collide with test_virtio.c's fakes of the same functions. */
#define arch_vm_irq_line gpio_fake_irq_line
#define vm_report_vm gpio_fake_report
#include "../../hyp/core/dev/vgpio_pl061.c"
#undef arch_vm_irq_line
#undef vm_report_vm

#include "unit.h"

#define PIN3 (1u << VGPIO_PIN_POWER)
#define DATA(mask) ((u64)(mask) << 2) /* the GPIODATA offset that selects these pins */

static int fake_vm;
static bool line;
static u32 line_changes, reports;
static char last_report[256];

void gpio_fake_irq_line(struct vm *vm, u32 intid, bool level)
{
	CHECK(vm == (struct vm *)(void *)&fake_vm);
	CHECK_EQ(intid, VGPIO_INTID);
	line = level;
	line_changes++;
}

void gpio_fake_report(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	CHECK(vm == (struct vm *)(void *)&fake_vm);
	va_start(ap, fmt);
	vsnprintf(last_report, sizeof(last_report), fmt, ap);
	va_end(ap);
	reports++;
}

static void setup(struct vgpio *g)
{
	memset(g, 0, sizeof(*g));
	vgpio_init(g, (struct vm *)(void *)&fake_vm, VGPIO_INTID);
	line = false;
	line_changes = reports = 0;
	last_report[0] = 0;
}

static u32 rd(struct vgpio *g, u64 off, u32 width)
{
	u64 v = 0xdeadbeef;

	CHECK(vgpio_pl061_ops.read(g, off, width, &v));
	return (u32)v;
}

static void wr(struct vgpio *g, u64 off, u32 width, u32 val)
{
	CHECK(vgpio_pl061_ops.write(g, off, width, val));
}

static u32 rb(struct vgpio *g, u64 off)
{
	return rd(g, off, 1);
}

static void wb(struct vgpio *g, u64 off, u8 val)
{
	wr(g, off, 1, val);
}

/* What Linux's AMBA bus reads to match the driver (32-bit), and byte reads of the same. */
TEST(vgpio_identity)
{
	static const u8 want[8] = { 0x61, 0x10, 0x04, 0x00, 0x0D, 0xF0, 0x05, 0xB1 };
	struct vgpio g;
	u32 pid = 0, cid = 0;

	setup(&g);
	for (int i = 0; i < 4; i++) {
		pid |= rd(&g, 0xFE0 + 4 * i, 4) << (8 * i);
		cid |= rd(&g, 0xFF0 + 4 * i, 4) << (8 * i);
	}
	CHECK_EQ(pid, 0x00041061);
	CHECK_EQ(cid, 0xB105F00D);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ(rb(&g, 0xFE0 + 4 * i), want[i]);
		CHECK_EQ(rd(&g, 0xFE0 + 4 * i, 2), want[i]);
		CHECK_EQ(rb(&g, 0xFE0 + 4 * i + 1), 0); /* reserved bytes of the word */
	}
	CHECK_EQ(reports, 0);
	/* writes to the id registers change nothing (one report) */
	wr(&g, 0xFE0, 4, 0);
	CHECK_EQ(rd(&g, 0xFE0, 4), 0x61);
	CHECK_EQ(reports, 1);
	CHECK_CONTAINS(last_report, "pl061: write to a read-only id register at offset 0xfe0");
}

/* Reset values, read/write registers masked to 8 bits, the reserved bytes of each word. */
TEST(vgpio_registers)
{
	static const u64 rw[] = { 0x400, 0x404, 0x408, 0x40C, 0x410, 0x420 };
	struct vgpio g;

	setup(&g);
	for (u64 off = 0x400; off <= 0x420; off += 4)
		if (off != 0x41C) /* GPIOIC is write-only (a read is reported) */
			CHECK_EQ(rd(&g, off, 4), 0);
	CHECK_EQ(rd(&g, DATA(0xFF), 4), 0);
	for (unsigned i = 0; i < ARRAY_SIZE(rw); i++) {
		wr(&g, rw[i], 4, 0xFFFFFF00u | (0x11u * (i + 1)));
		CHECK_EQ(rd(&g, rw[i], 4), (0x11u * (i + 1)) & 0xFF);
		CHECK_EQ(rb(&g, rw[i]), (0x11u * (i + 1)) & 0xFF);
		wb(&g, rw[i] + 1, 0xFF); /* a reserved byte: ignored */
		wr(&g, rw[i] + 2, 2, 0xFFFF);
		CHECK_EQ(rd(&g, rw[i], 4), (0x11u * (i + 1)) & 0xFF);
		wb(&g, rw[i], 0x5A);
		CHECK_EQ(rd(&g, rw[i], 4), 0x5A);
	}
	CHECK_EQ(reports, 0);
	vgpio_reset(&g);
	for (unsigned i = 0; i < ARRAY_SIZE(rw); i++)
		CHECK_EQ(rd(&g, rw[i], 4), 0);
}

/* Accesses the device refuses (the guest gets an external abort) and ones it ignores. */
TEST(vgpio_bad_accesses)
{
	struct vgpio g;
	u64 v;

	setup(&g);
	CHECK(!vgpio_pl061_ops.read(&g, 0x400, 8, &v));
	CHECK(!vgpio_pl061_ops.write(&g, 0x400, 8, 0xFF));
	CHECK(!vgpio_pl061_ops.read(&g, 0x401, 2, &v));
	CHECK(!vgpio_pl061_ops.read(&g, 0x402, 4, &v));
	CHECK(!vgpio_pl061_ops.write(&g, 0x403, 2, 1));
	CHECK(!vgpio_pl061_ops.read(&g, 0x1000, 1, &v));
	CHECK(!vgpio_pl061_ops.write(&g, 0x1000, 4, 1));
	CHECK_EQ(rd(&g, 0x400, 4), 0);
	CHECK_EQ(reports, 0);
	/* reserved offsets read 0 and ignore writes; reported once per device */
	CHECK_EQ(rd(&g, 0x800, 4), 0);
	CHECK_EQ(reports, 1);
	CHECK_CONTAINS(last_report, "pl061: read of a reserved register at offset 0x800 ignored "
				    "(reported once)");
	wr(&g, 0x424, 4, 0xFF);
	CHECK_EQ(rd(&g, 0x424, 4), 0);
	CHECK_EQ(rd(&g, 0x41C, 4), 0); /* GPIOIC is write-only */
	CHECK_EQ(rd(&g, 0xFD0, 4), 0);
	CHECK_EQ(reports, 1);
	/* RIS and MIS are read-only */
	wb(&g, 0x408, PIN3);
	wb(&g, 0x410, PIN3);
	CHECK(vgpio_press(&g, VGPIO_PIN_POWER));
	wb(&g, 0x414, 0);
	wb(&g, 0x418, 0);
	CHECK_EQ(rb(&g, 0x414), PIN3);
	CHECK(line);
	CHECK(!vgpio_press(&g, 8)); /* no such pin */
	CHECK_EQ(reports, 1);
	vgpio_reset(&g); /* a reset gives the guest a fresh report */
	CHECK(!line);
	wb(&g, 0x414, 0);
	CHECK_EQ(reports, 2);
	CHECK_CONTAINS(last_report, "write to read-only GPIORIS/GPIOMIS at offset 0x414");
}

/* GPIODATA: address bits 9:2 select the pins a read returns and a write changes; only output
 * pins take written values. */
TEST(vgpio_data_mask)
{
	struct vgpio g;

	setup(&g);
	wb(&g, 0x400, 0x0F); /* pins 0..3 outputs */
	wb(&g, DATA(0xFF), 0xFF);
	CHECK_EQ(rb(&g, DATA(0xFF)), 0x0F); /* inputs 4..7 stay low */
	CHECK_EQ(rb(&g, DATA(0x05)), 0x05);
	CHECK_EQ(rb(&g, DATA(0x30)), 0x00);
	CHECK_EQ(rb(&g, DATA(0x00)), 0x00);
	wb(&g, DATA(0x02), 0x00); /* clears pin 1 only */
	CHECK_EQ(rb(&g, DATA(0xFF)), 0x0D);
	wb(&g, DATA(0x01), 0xFE); /* pin 1 is outside the mask: unchanged, pin 0 cleared */
	CHECK_EQ(rb(&g, DATA(0xFF)), 0x0C);
	CHECK_EQ(rd(&g, DATA(0xFF), 4), 0x0C);
	wb(&g, DATA(0xFF) + 1, 0xFF); /* a reserved byte */
	CHECK_EQ(rb(&g, DATA(0xFF)), 0x0C);
	wb(&g, 0x400, 0x00); /* all inputs: nothing drives them */
	CHECK_EQ(rb(&g, DATA(0xFF)), 0x00);
	wb(&g, 0x400, 0x0F); /* the latch kept its value */
	CHECK_EQ(rb(&g, DATA(0xFF)), 0x0C);
	CHECK_EQ(line_changes, 0);
}

/* The press as gpio-keys sees it: both edges, interrupt enabled. Rising edge -> RIS, MIS, the
 * line; GPIOIC clears it; reading the pin as 1 releases the button: the falling edge. */
TEST(vgpio_press_both_edges)
{
	struct vgpio g;

	setup(&g);
	wb(&g, 0x408, PIN3); /* IBE */
	wb(&g, 0x410, PIN3); /* IE */
	CHECK(!line);
	CHECK(vgpio_press(&g, VGPIO_PIN_POWER));
	CHECK_EQ(rb(&g, 0x414), PIN3);
	CHECK_EQ(rb(&g, 0x418), PIN3);
	CHECK(line);
	CHECK(!vgpio_press(&g, VGPIO_PIN_POWER)); /* still held: nothing new */
	wb(&g, 0x41C, PIN3);                       /* the driver's ack */
	CHECK_EQ(rb(&g, 0x414), 0);
	CHECK(!line);
	/* a read that does not select pin 3 does not see (or release) it */
	CHECK_EQ(rb(&g, DATA(0xF7)), 0);
	CHECK(!line);
	CHECK_EQ(rb(&g, DATA(PIN3)), PIN3); /* the debounced read: pressed */
	CHECK_EQ(rb(&g, 0x414), PIN3);      /* and the release's edge */
	CHECK(line);
	wb(&g, 0x41C, 0xFF);
	CHECK(!line);
	CHECK_EQ(rb(&g, DATA(PIN3)), 0); /* released */
	CHECK_EQ(rb(&g, 0x414), 0);
	CHECK(vgpio_press(&g, VGPIO_PIN_POWER)); /* a second press works the same */
	CHECK(line);
	CHECK_EQ(line_changes, 5);
}

/* Masked: the raw status records the press, the line stays low until GPIOIE allows it. */
TEST(vgpio_press_masked)
{
	struct vgpio g;

	setup(&g);
	wb(&g, 0x408, PIN3);
	CHECK(vgpio_press(&g, VGPIO_PIN_POWER));
	CHECK_EQ(rb(&g, 0x414), PIN3);
	CHECK_EQ(rb(&g, 0x418), 0);
	CHECK(!line);
	wb(&g, 0x410, 0xF7); /* every pin but 3 */
	CHECK(!line);
	wb(&g, 0x410, PIN3);
	CHECK(line);
	CHECK_EQ(rb(&g, 0x418), PIN3);
	wb(&g, 0x410, 0);
	CHECK(!line);
	CHECK_EQ(rb(&g, 0x414), PIN3);
}

/* Edge selection: rising only (IEV = 1) latches the press, not the release; falling only
 * latches the release. */
TEST(vgpio_press_single_edge)
{
	struct vgpio g;

	setup(&g);
	wb(&g, 0x40C, PIN3); /* IEV: rising */
	wb(&g, 0x410, PIN3);
	vgpio_press(&g, VGPIO_PIN_POWER);
	CHECK(line);
	wb(&g, 0x41C, PIN3);
	CHECK(!line);
	CHECK_EQ(rb(&g, DATA(PIN3)), PIN3);
	CHECK_EQ(rb(&g, 0x414), 0);
	CHECK(!line);

	wb(&g, 0x40C, 0); /* falling */
	vgpio_press(&g, VGPIO_PIN_POWER);
	CHECK_EQ(rb(&g, 0x414), 0);
	CHECK(!line);
	CHECK_EQ(rb(&g, DATA(0xFF)), PIN3);
	CHECK_EQ(rb(&g, 0x414), PIN3);
	CHECK(line);
}

/* Level-sensitive, active high: the status follows the pin, GPIOIC does not clear it, the
 * release lowers it. */
TEST(vgpio_press_level)
{
	struct vgpio g;

	setup(&g);
	wb(&g, 0x404, PIN3); /* IS: level */
	wb(&g, 0x40C, PIN3); /* IEV: high */
	wb(&g, 0x410, PIN3);
	CHECK(!line);
	vgpio_press(&g, VGPIO_PIN_POWER);
	CHECK(line);
	wb(&g, 0x41C, 0xFF);
	CHECK(line);
	CHECK_EQ(rb(&g, 0x418), PIN3);
	CHECK_EQ(rb(&g, DATA(0xFF)), PIN3);
	CHECK(!line);
	CHECK_EQ(rb(&g, 0x414), 0);
	/* active low: every low input pin is asserted at once */
	wb(&g, 0x40C, 0);
	CHECK(line);
	CHECK_EQ(rb(&g, 0x418), PIN3);
	vgpio_press(&g, VGPIO_PIN_POWER);
	CHECK(!line);
}

/* Output pins the guest toggles go through the same detection (a guest can test its own
 * interrupt path); an output pin 3 ignores the button. */
TEST(vgpio_output_edges)
{
	struct vgpio g;

	setup(&g);
	wb(&g, 0x400, 0x01); /* pin 0 output */
	wb(&g, 0x40C, 0x01); /* rising */
	wb(&g, 0x410, 0x01);
	wb(&g, DATA(0x01), 0x01);
	CHECK(line);
	CHECK_EQ(rb(&g, 0x414), 0x01);
	wb(&g, 0x41C, 0x01);
	CHECK(!line);
	wb(&g, DATA(0x01), 0x00); /* falling: not selected */
	CHECK(!line);

	setup(&g);
	wb(&g, 0x400, PIN3);
	wb(&g, 0x408, PIN3);
	wb(&g, 0x410, PIN3);
	vgpio_press(&g, VGPIO_PIN_POWER);
	CHECK(!line);
	CHECK_EQ(rb(&g, DATA(PIN3)), 0); /* driven low by the latch */
	wb(&g, 0x400, 0);                /* back to input: the held button shows */
	CHECK(line);
	CHECK_EQ(rb(&g, DATA(PIN3)), PIN3);
}

/* A reset releases the button and lowers the line. */
TEST(vgpio_reset_releases)
{
	struct vgpio g;

	setup(&g);
	wb(&g, 0x408, PIN3);
	wb(&g, 0x410, PIN3);
	vgpio_press(&g, VGPIO_PIN_POWER);
	CHECK(line);
	vgpio_reset(&g);
	CHECK(!line);
	CHECK_EQ(rb(&g, DATA(0xFF)), 0);
	CHECK_EQ(rb(&g, 0x414), 0);
	CHECK(vgpio_press(&g, VGPIO_PIN_POWER)); /* not held any more */
	CHECK(!line);                             /* IE was reset */
}
