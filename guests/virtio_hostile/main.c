/* virtio_hostile: a guest that drives its virtio-blk disk (slot 0, 1 MiB) correctly, then feeds
 * it broken rings; checks that the device refuses each with DEVICE_NEEDS_RESET (Status bit 0x40,
 * a configuration-change interrupt status, no buffer used), that a reset brings it back, and
 * that one good read works afterwards (the disk keeps what was written). One line per check:
 * "virtio-hostile: <tag>: <what happened>: ok" (or FAIL). The checks:
 *
 *   a-probe         MagicValue, Version 2, DeviceID 2
 *   b-features      FLUSH, indirect descriptors, EVENT_IDX and VERSION_1 offered
 *   c-no-version-1  FEATURES_OK refused without VERSION_1, and for an unoffered feature
 *   d-capacity      2048 sectors in the configuration space
 *   e-write-read    sectors 10..17 written and read back (status 0 each)
 *   f-get-id        serial "bulkhead-vhostile-0"
 *   g-ioerr         reading sector 2048 (past the end): IOERR (1), and the device carries on
 *   h-unsupp        a DISCARD request: UNSUPP (2)
 *   i-loop          descriptors 0 -> 1 -> 0 -> ...                  \
 *   j-outside-ram   a data buffer at 0x20000000                      | NEEDS_RESET, then
 *   k-huge-length   a data buffer of 0xffffff00 bytes                | reset, set up again,
 *   l-index-ahead   the available index 1000 entries ahead           | one good read:
 *   m-head-range    a ring entry naming descriptor 200 (size 8)      | "<tag>-recovered"
 *   n-ring-outside  a descriptor table at 0x30000000 (QueueReady)    /
 *   o-wide-access   an 8-byte read of MagicValue: external abort
 *   p-indirect-read with INDIRECT_DESC and EVENT_IDX: a read through an indirect table;
 *                   avail_event written
 *   q-indirect-outside  an indirect table at 0x20000000              \ NEEDS_RESET, reset,
 *   r-indirect-nested   a table naming another table                  | set up again, one
 *   s-indirect-next     an indirect descriptor with NEXT              | good read:
 *   t-indirect-len      a table of 24 bytes (not a multiple of 16)    / "<tag>-recovered"
 *
 * Then "virtio-hostile: done N checks, F failures" and ticks like the ticker guest. Meant for a
 * VM with 16 MiB of RAM at 0x40000000 and `virtio-blk@0 { size = <0x0 0x100000>; }`. */
#include "vdrv.h"

#define SECTORS 2048
#define NOT_RAM 0x20000000UL
#define SERIAL "bulkhead-vhostile-0"

static volatile unsigned long faults;
static volatile uint64_t last_esr;

/* One check's line: "virtio-hostile: <tag>: <what>: ok|FAIL" (guests/lib: check_result). */
#define result(tag, ok, ...) check_result("virtio-hostile", tag, ok, __VA_ARGS__)

static int hook(struct exc_frame *f)
{
	if (f->kind != EXC_SYNC_CUR_SPX)
		return 0;
	last_esr = f->esr;
	faults++;
	f->elr += 4;
	return 1;
}

static void fill_pattern(uint32_t len, uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		req_data[i] = (uint8_t)(i * 13 + seed);
}

static int check_pattern(uint32_t len, uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		if (req_data[i] != (uint8_t)(i * 13 + seed))
			return 0;
	return 1;
}

static void probe(void)
{
	uint32_t magic = vio_read(V_MAGIC), ver = vio_read(V_VERSION), id = vio_read(V_DEVICE_ID);
	uint32_t lo, hi;

	result("a-probe", magic == 0x74726976 && ver == 2 && id == 2,
	       "magic 0x%x version %u device %u vendor 0x%x", magic, ver, id,
	       vio_read(V_VENDOR_ID));
	vio_write(V_DEV_FEATURES_SEL, 0);
	lo = vio_read(V_DEV_FEATURES);
	vio_write(V_DEV_FEATURES_SEL, 1);
	hi = vio_read(V_DEV_FEATURES);
	result("b-features", (lo & F_FLUSH) && (lo & F_INDIRECT) && (lo & F_EVENT_IDX) &&
	       (hi & F_VERSION_1_HI), "features 0x%x 0x%x", hi, lo);
}

static void negotiation(void)
{
	uint32_t without = vio_negotiate(F_FLUSH, 0);
	uint32_t unoffered = vio_negotiate(F_FLUSH | F_RO, F_VERSION_1_HI);

	result("c-no-version-1", !(without & ST_FEATURES_OK) && !(unoffered & ST_FEATURES_OK),
	       "status 0x%x without VERSION_1, 0x%x with RO", without, unoffered);
}

static void good_requests(void)
{
	uint64_t cap = vio_read(V_CONFIG) | (uint64_t)vio_read(V_CONFIG + 4) << 32;
	char serial[21];
	int w, r, id, e;

	result("d-capacity", cap == SECTORS, "%lu sectors", (unsigned long)cap);
	fill_pattern(4096, 7);
	w = vio_request(T_OUT, 10, 4096);
	memset(req_data, 0, sizeof(req_data));
	r = vio_request(T_IN, 10, 4096);
	result("e-write-read", w == 0 && r == 0 && check_pattern(4096, 7),
	       "write status %d, read status %d, data %s", w, r,
	       check_pattern(4096, 7) ? "same" : "different");
	memset(req_data, 0, 32);
	id = vio_request(T_GET_ID, 0, 20);
	memcpy(serial, req_data, 20);
	serial[20] = 0;
	result("f-get-id", id == 0 && !memcmp(req_data, SERIAL, sizeof(SERIAL)),
	       "status %d serial '%s'", id, serial);
	e = vio_request(T_IN, SECTORS, 512);
	result("g-ioerr", e == 1 && !(vio_read(V_STATUS) & ST_NEEDS_RESET),
	       "status %d, device status 0x%x", e, vio_read(V_STATUS));
	e = vio_request(T_DISCARD, 0, 0);
	result("h-unsupp", e == 2, "status %d", e);
}

/* After a hostile step: NEEDS_RESET, config interrupt, nothing used; then reset, set up again
 * and read sectors 10..17 back. */
static void expect_refused(const char *tag, int used)
{
	uint32_t st = vio_read(V_STATUS), isr = vio_read(V_INT_STATUS), after;
	char rtag[40];
	int setup, r;

	result(tag, (st & ST_NEEDS_RESET) && (isr & 2) && !used,
	       "status 0x%x interrupt status 0x%x, %s", st, isr, used ? "used" : "nothing used");
	vio_write(V_INT_ACK, isr);
	vio_write(V_STATUS, 0);
	after = vio_read(V_STATUS);
	setup = vio_setup();
	memset(req_data, 0, 4096);
	r = vio_request(T_IN, 10, 4096);
	snprintf(rtag, sizeof(rtag), "%s-recovered", tag);
	result(rtag, after == 0 && setup == 0 && r == 0 && check_pattern(4096, 7),
	       "status after reset 0x%x, setup %d, read status %d, data %s", after, setup, r,
	       check_pattern(4096, 7) ? "same" : "different");
}

static void broken_chains(void)
{
	req_status = 0xEE;
	vq_desc[0] = (struct vdesc){ (uintptr_t)req_hdr, 16, D_NEXT, 1 };
	vq_desc[1] = (struct vdesc){ (uintptr_t)req_data, 512, D_NEXT | D_WRITE, 0 };
	expect_refused("i-loop", vio_kick(0, 1));
	vq_desc[0] = (struct vdesc){ (uintptr_t)req_hdr, 16, D_NEXT, 1 };
	vq_desc[1] = (struct vdesc){ NOT_RAM, 512, D_NEXT | D_WRITE, 2 };
	vq_desc[2] = (struct vdesc){ (uintptr_t)&req_status, 1, D_WRITE, 0 };
	expect_refused("j-outside-ram", vio_kick(0, 1));
	vq_desc[1] = (struct vdesc){ (uintptr_t)req_data, 0xffffff00u, D_NEXT | D_WRITE, 2 };
	expect_refused("k-huge-length", vio_kick(0, 1));
	vq_desc[1] = (struct vdesc){ (uintptr_t)req_data, 512, D_NEXT | D_WRITE, 2 };
	expect_refused("l-index-ahead", vio_kick(0, 1000));
	expect_refused("m-head-range", vio_kick(200, 1));
}

static void broken_queue(void)
{
	uint32_t ready, st, isr;

	vio_negotiate(F_FLUSH, F_VERSION_1_HI);
	vio_write(V_QUEUE_SEL, 0);
	vio_write(V_QUEUE_NUM, QSIZE);
	vio_write(V_QUEUE_DESC, 0x30000000);
	vio_write(V_QUEUE_DESC + 4, 0);
	vio_write(V_QUEUE_READY, 1);
	ready = vio_read(V_QUEUE_READY);
	st = vio_read(V_STATUS);
	isr = vio_read(V_INT_STATUS);
	result("n-ring-outside", !ready && (st & ST_NEEDS_RESET) && !isr,
	       "queue ready %u, status 0x%x, interrupt status 0x%x (no DRIVER_OK yet)", ready,
	       st, isr);
	vio_write(V_STATUS, 0);
	int setup = vio_setup(), r = vio_request(T_IN, 10, 4096);

	result("n-ring-outside-recovered", setup == 0 && r == 0 && check_pattern(4096, 7),
	       "setup %d, read status %d", setup, r);
}

static void wide_access(void)
{
	unsigned long before = faults;
	uint64_t v = 0;

	__asm__ volatile("ldr %0, [%1]" : "+r"(v) : "r"(VIO_BASE) : "memory");
	result("o-wide-access", faults == before + 1 && ESR_EC(last_esr) == 0x25 &&
	       ESR_DFSC(last_esr) == 0x10, "faults %lu esr 0x%lx", faults - before,
	       (unsigned long)last_esr);
}

static volatile struct vdesc table[4]; /* an indirect table */

/* Head 0 of the queue: header, data (4096 bytes) and status of a read of sector 10 in the
 * table. */
static void indirect_request(void)
{
	uint32_t type = T_IN;
	uint64_t sector = 10;

	memcpy(req_hdr, &type, 4);
	memset(req_hdr + 4, 0, 4);
	memcpy(req_hdr + 8, &sector, 8);
	memset(req_data, 0, 4096);
	req_status = 0xEE;
	table[0] = (struct vdesc){ (uintptr_t)req_hdr, 16, D_NEXT, 1 };
	table[1] = (struct vdesc){ (uintptr_t)req_data, 4096, D_NEXT | D_WRITE, 2 };
	table[2] = (struct vdesc){ (uintptr_t)&req_status, 1, D_WRITE, 0 };
	vq_desc[0] = (struct vdesc){ (uintptr_t)table, 3 * 16, D_INDIRECT, 0 };
}

static void indirect_tables(void)
{
	const uint32_t feat = F_FLUSH | F_INDIRECT | F_EVENT_IDX;
	int s = vio_setup_with(feat), used;

	indirect_request();
	used = vio_kick(0, 1);
	result("p-indirect-read", s == 0 && used && req_status == 0 && check_pattern(4096, 7) &&
	       vq_used.avail_event == 1, "setup %d, %s, status %d, data %s, avail_event %u", s,
	       used ? "used" : "nothing used", req_status,
	       check_pattern(4096, 7) ? "same" : "different", vq_used.avail_event);
	vio_setup_with(feat);
	indirect_request();
	vq_desc[0].addr = NOT_RAM;
	expect_refused("q-indirect-outside", vio_kick(0, 1));
	vio_setup_with(feat);
	indirect_request();
	table[1] = (struct vdesc){ (uintptr_t)table, 3 * 16, D_INDIRECT, 0 };
	expect_refused("r-indirect-nested", vio_kick(0, 1));
	vio_setup_with(feat);
	indirect_request();
	vq_desc[0].flags = D_INDIRECT | D_NEXT;
	vq_desc[0].next = 1;
	expect_refused("s-indirect-next", vio_kick(0, 1));
	vio_setup_with(feat);
	indirect_request();
	vq_desc[0].len = 24;
	expect_refused("t-indirect-len", vio_kick(0, 1));
}

int main(void)
{
	exc_set_hook(hook);
	printf("virtio-hostile: start\n");
	probe();
	negotiation();
	int s = vio_setup();
	result("setup", s == 0, "vio_setup %d", s);
	good_requests();
	broken_chains();
	broken_queue();
	wide_access();
	indirect_tables();
	printf("virtio-hostile: done %u checks, %u failures\n", check_count, check_failures);
	tick_forever();
}
