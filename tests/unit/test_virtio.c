/* Tests for the virtio-mmio transport (hyp/core/dev/virtio_mmio.c) and virtio-blk
 * (virtio_blk.c), driven through their registers like a guest driver over a fake RAM: identity,
 * feature negotiation, requests, errors, a broken ring (NEEDS_RESET), reset and recovery; and
 * virtio-net (virtio_net.c): two ports on one switch exchanging frames, drops, reset. */
#include <stdarg.h>

#include <bulkhead/virtio.h>

#include "fake_driver.h"
#include "unit.h"
#include "virtio_fakes.h"

#define RAM_SIZE (1024 * 1024)
#define DISK_SIZE (64 * 1024) /* 128 sectors */
#define SLOT 3
#define INTID (32 + 16 + SLOT)
#define HDR FD_BUF            /* request header */
#define DATA (FD_BUF + 0x1000) /* data buffer */
#define STAT (FD_BUF + 0x3000) /* status byte */

/* --- what the transport calls outside itself --- */

/* (shared with test_virtio_console.c: virtio_fakes.h) */
bool line[128];
u32 line_changes, reports;
char last_report[256];
int fake_vm; /* the device's struct vm: only passed through */

void arch_cpu_relax(void)
{
}

void arch_vm_irq_line(struct vm *vm, u32 intid, bool level)
{
	CHECK(vm == (struct vm *)(void *)&fake_vm);
	if (intid < 128)
		line[intid] = level;
	line_changes++;
}

void vm_report_vm(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	(void)vm;
	va_start(ap, fmt);
	vsnprintf(last_report, sizeof(last_report), fmt, ap);
	va_end(ap);
	reports++;
}

/* --- a device and a driver --- */

struct rig {
	struct fake f;
	struct virtio_blk *b;
	u8 *disk;
};

static u32 rd(struct rig *r, u64 off)
{
	u64 v = 0xdeadbeef;

	CHECK(virtio_mmio_ops.read(&r->b->dev, off, 4, &v));
	return (u32)v;
}

static void wr(struct rig *r, u64 off, u32 val)
{
	CHECK(virtio_mmio_ops.write(&r->b->dev, off, 4, val));
}

static void rig_init(struct rig *r)
{
	fake_init(&r->f, RAM_SIZE, 8);
	r->b = calloc(1, sizeof(*r->b));
	r->disk = calloc(1, DISK_SIZE);
	virtio_blk_init(r->b, (struct vm *)(void *)&fake_vm, "vm0", SLOT, &r->f.ram, r->disk,
			DISK_SIZE);
	memset(line, 0, sizeof(line));
	reports = line_changes = 0;
	last_report[0] = 0;
}

static void rig_free(struct rig *r)
{
	fake_free(&r->f);
	free(r->b);
	free(r->disk);
}

/* The driver's initialization (§3.1.1) up to DRIVER_OK, accepting features lo (of bits 0-31)
 * and VERSION_1, with queue 0 on the fake's rings. */
static void driver_up_with(struct rig *r, u32 lo)
{
	wr(r, 0x070, 0);
	wr(r, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(r, 0x024, 0);
	wr(r, 0x020, lo);
	wr(r, 0x024, 1);
	wr(r, 0x020, 1); /* VERSION_1 */
	wr(r, 0x070, 0x0b);
	CHECK_EQ(rd(r, 0x070), 0x0b);
	wr(r, 0x030, 0);
	wr(r, 0x038, r->f.num);
	wr(r, 0x080, (u32)FD_DESC);
	wr(r, 0x084, 0);
	wr(r, 0x090, (u32)FD_AVAIL);
	wr(r, 0x094, 0);
	wr(r, 0x0a0, (u32)FD_USED);
	wr(r, 0x0a4, 0);
	wr(r, 0x044, 1);
	CHECK_EQ(rd(r, 0x044), 1);
	wr(r, 0x070, 0x0f);
	r->f.avail = r->f.used = 0;
}

static void driver_up(struct rig *r)
{
	driver_up_with(r, 1u << 9); /* FLUSH */
}

/* A request: header (type, sector), data (len bytes, device-writable for reads), status.
 * Returns the status byte the device wrote (0xEE if none) and the used length in *used. */
static u8 request(struct rig *r, u32 type, u64 sector, u32 len, bool data_write, u32 *used)
{
	u8 hdr[16] = { 0 }, st = 0xEE;
	u16 idx = fake_used_idx(&r->f);
	u32 id = 0, n = 0;

	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	memcpy(fake_ptr(&r->f, HDR), hdr, 16);
	memcpy(fake_ptr(&r->f, STAT), &st, 1);
	fake_set_desc(&r->f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, len ? 1 : 2);
	fake_set_desc(&r->f, 1, DATA, len,
		      VIRTQ_DESC_F_NEXT | (data_write ? VIRTQ_DESC_F_WRITE : 0), 2);
	fake_set_desc(&r->f, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	fake_offer(&r->f, 0);
	wr(r, 0x050, 0);
	CHECK_EQ(fake_used_idx(&r->f), (u16)(idx + 1));
	fake_used_elem(&r->f, idx, &id, &n);
	CHECK_EQ(id, 0);
	if (used)
		*used = n;
	return *fake_ptr(&r->f, STAT);
}

TEST(virtio_identity_and_config)
{
	struct rig r;
	u64 v = 0;

	rig_init(&r);
	CHECK_EQ(rd(&r, 0x000), 0x74726976);
	CHECK_EQ(rd(&r, 0x004), 2);
	CHECK_EQ(rd(&r, 0x008), 2);
	CHECK_EQ(rd(&r, 0x00c), VIRTIO_VENDOR_ID);
	CHECK_EQ(rd(&r, 0x034), VIRTQ_MAX_SIZE);
	wr(&r, 0x030, 1); /* virtio-blk has one queue */
	CHECK_EQ(rd(&r, 0x034), 0);
	CHECK_EQ(rd(&r, 0x0b0), 0xffffffff); /* no shared memory region */
	CHECK_EQ(rd(&r, 0x0fc), 0);
	CHECK_EQ(r.b->dev.intid, INTID);
	/* config: capacity (64-bit and two 32-bit reads), size_max, seg_max, blk_size */
	CHECK(virtio_mmio_ops.read(&r.b->dev, 0x100, 8, &v));
	CHECK_EQ(v, DISK_SIZE / 512);
	CHECK_EQ(rd(&r, 0x100), DISK_SIZE / 512);
	CHECK_EQ(rd(&r, 0x104), 0);
	CHECK_EQ(rd(&r, 0x108), 64 * 1024);
	CHECK_EQ(rd(&r, 0x10c), VIRTQ_MAX_SIZE - 2);
	CHECK_EQ(rd(&r, 0x114), 512);
	CHECK(virtio_mmio_ops.read(&r.b->dev, 0x101, 1, &v));
	CHECK_EQ(v, 0);
	CHECK_EQ(rd(&r, 0x1fc), 0); /* past the device's fields */
	CHECK(virtio_mmio_ops.write(&r.b->dev, 0x100, 4, 0x1234)); /* ignored */
	CHECK_EQ(rd(&r, 0x100), DISK_SIZE / 512);
	/* registers are 32-bit, aligned: anything else is refused (an external abort) */
	CHECK(!virtio_mmio_ops.read(&r.b->dev, 0x000, 8, &v));
	CHECK(!virtio_mmio_ops.read(&r.b->dev, 0x000, 2, &v));
	CHECK(!virtio_mmio_ops.read(&r.b->dev, 0x002, 4, &v));
	CHECK(!virtio_mmio_ops.write(&r.b->dev, 0x070, 1, 1));
	CHECK(!virtio_mmio_ops.read(&r.b->dev, 0x102, 4, &v));
	rig_free(&r);
}

TEST(virtio_feature_negotiation)
{
	struct rig r;

	rig_init(&r);
	wr(&r, 0x014, 0);
	u32 lo = rd(&r, 0x010);
	CHECK_EQ(lo, (1u << 1) | (1u << 2) | (1u << 6) | (1u << 9) | (1u << 28) | (1u << 29));
	CHECK((lo & (1u << 28)) && (lo & (1u << 29))); /* indirect descriptors, event index */
	wr(&r, 0x014, 1);
	CHECK_EQ(rd(&r, 0x010), 1); /* VERSION_1 */
	wr(&r, 0x014, 2);
	CHECK_EQ(rd(&r, 0x010), 0);
	/* without VERSION_1: FEATURES_OK is not accepted */
	wr(&r, 0x070, 3);
	wr(&r, 0x024, 0);
	wr(&r, 0x020, 1u << 9);
	wr(&r, 0x070, 0x0b);
	CHECK_EQ(rd(&r, 0x070), 3);
	/* a feature not offered (read-only disk): refused too */
	wr(&r, 0x024, 1);
	wr(&r, 0x020, 1);
	wr(&r, 0x024, 0);
	wr(&r, 0x020, 1u << 5);
	wr(&r, 0x070, 0x0b);
	CHECK_EQ(rd(&r, 0x070), 3);
	/* VERSION_1 + FLUSH: accepted, and fixed from then on */
	wr(&r, 0x020, 1u << 9);
	wr(&r, 0x070, 0x0b);
	CHECK_EQ(rd(&r, 0x070), 0x0b);
	wr(&r, 0x020, 1u << 29);
	CHECK_EQ(r.b->dev.drv_features, VIRTIO_F_VERSION_1 | (1u << 9));
	/* the driver cannot set NEEDS_RESET itself */
	wr(&r, 0x070, 0x4b);
	CHECK_EQ(rd(&r, 0x070), 0x0b);
	wr(&r, 0x070, 0);
	CHECK_EQ(rd(&r, 0x070), 0);
	CHECK_EQ(r.b->dev.drv_features, 0);
	rig_free(&r);
}

TEST(virtio_blk_read_write_flush_id)
{
	struct rig r;
	u32 used = 0;
	u8 *data;

	rig_init(&r);
	driver_up(&r);
	data = fake_ptr(&r.f, DATA);
	for (u32 i = 0; i < 1024; i++)
		data[i] = (u8)(i * 7 + 1);
	CHECK_EQ(request(&r, 1, 5, 1024, false, &used), 0); /* OUT: sectors 5, 6 */
	CHECK_EQ(used, 1);
	CHECK(!memcmp(r.disk + 5 * 512, data, 1024));
	CHECK(line[INTID]);
	CHECK_EQ(rd(&r, 0x060), VIRTIO_INT_USED);
	wr(&r, 0x064, VIRTIO_INT_USED);
	CHECK(!line[INTID]);
	CHECK_EQ(rd(&r, 0x060), 0);
	memset(data, 0, 1024);
	CHECK_EQ(request(&r, 0, 6, 512, true, &used), 0); /* IN: sector 6 */
	CHECK_EQ(used, 513);
	CHECK(!memcmp(data, r.disk + 6 * 512, 512));
	CHECK_EQ(data[0], (u8)(512 * 7 + 1));
	CHECK_EQ(request(&r, 4, 0, 0, false, &used), 0); /* FLUSH */
	CHECK_EQ(used, 1);
	CHECK_EQ(request(&r, 8, 0, 20, true, &used), 0); /* GET_ID */
	CHECK_EQ(used, 21);
	CHECK(!memcmp(data, "bulkhead-vm0-3\0\0\0\0\0\0", 20));
	CHECK_EQ(request(&r, 0, 127, 512, true, NULL), 0); /* the last sector */
	CHECK_EQ(reports, 0);
	CHECK_EQ(rd(&r, 0x070), 0x0f);
	/* what `bhctl stats` shows: GET_ID is neither a read nor a write */
	CHECK_EQ(r.b->writes, 1);
	CHECK_EQ(r.b->written_bytes, 1024);
	CHECK_EQ(r.b->reads, 2);
	CHECK_EQ(r.b->read_bytes, 1024);
	CHECK_EQ(r.b->flushes, 1);
	CHECK_EQ(r.b->errors, 0);
	rig_free(&r);
}

TEST(virtio_blk_bad_requests_get_errors)
{
	struct rig r;
	u32 used = 0;

	rig_init(&r);
	driver_up(&r);
	CHECK_EQ(request(&r, 0, 128, 512, true, &used), 1);     /* past the end: IOERR */
	CHECK_EQ(used, 1);
	CHECK_EQ(request(&r, 0, 127, 1024, true, NULL), 1);     /* runs past the end */
	CHECK_EQ(request(&r, 1, ~0ULL / 2, 512, false, NULL), 1); /* sector * 512 overflows */
	CHECK_EQ(request(&r, 1, ~0ULL, 512, false, NULL), 1);
	CHECK_EQ(request(&r, 0, 0, 100, true, NULL), 1);        /* not whole sectors */
	CHECK_EQ(request(&r, 8, 0, 19, true, NULL), 1);         /* GET_ID without room */
	CHECK_EQ(request(&r, 11, 0, 0, false, NULL), 2);        /* DISCARD: UNSUPP */
	CHECK_EQ(request(&r, 0x1234, 0, 512, true, NULL), 2);
	/* a header shorter than 16 bytes */
	fake_set_desc(&r.f, 0, HDR, 8, VIRTQ_DESC_F_NEXT, 2);
	fake_set_desc(&r.f, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	fake_offer(&r.f, 0);
	wr(&r, 0x050, 0);
	CHECK_EQ(*fake_ptr(&r.f, STAT), 1);
	/* none of these is the ring's fault: the device carries on */
	CHECK_EQ(rd(&r, 0x070), 0x0f);
	CHECK_EQ(reports, 0);
	CHECK_EQ(r.b->errors, 9); /* 6 IOERR, 2 UNSUPP, the short header */
	CHECK_EQ(r.b->reads + r.b->writes + r.b->read_bytes + r.b->written_bytes, 0);
	CHECK_EQ(request(&r, 0, 0, 512, true, NULL), 0);
	CHECK_EQ(r.b->reads, 1);
	rig_free(&r);
}

TEST(virtio_blk_any_framing)
{
	struct rig r;
	u8 hdr[16] = { 0 };
	u64 sector = 9;
	u32 id, len;

	rig_init(&r);
	driver_up(&r);
	for (u32 i = 0; i < 1024; i++)
		r.disk[9 * 512 + i] = (u8)(i ^ 0x5a);
	memcpy(hdr + 8, &sector, 8); /* IN */
	memcpy(fake_ptr(&r.f, HDR), hdr, 8);
	memcpy(fake_ptr(&r.f, HDR + 0x100), hdr + 8, 8);
	/* header in two pieces, 1 KiB of data in three, the status with the data's tail */
	fake_set_desc(&r.f, 4, HDR, 8, VIRTQ_DESC_F_NEXT, 6);
	fake_set_desc(&r.f, 6, HDR + 0x100, 8, VIRTQ_DESC_F_NEXT, 1);
	fake_set_desc(&r.f, 1, DATA, 100, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	fake_set_desc(&r.f, 3, DATA + 0x400, 900, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 7);
	fake_set_desc(&r.f, 7, DATA + 0x800, 25, VIRTQ_DESC_F_WRITE, 0);
	fake_offer(&r.f, 4);
	wr(&r, 0x050, 0);
	fake_used_elem(&r.f, 0, &id, &len);
	CHECK_EQ(id, 4);
	CHECK_EQ(len, 1025);
	CHECK(!memcmp(fake_ptr(&r.f, DATA), r.disk + 9 * 512, 100));
	CHECK(!memcmp(fake_ptr(&r.f, DATA + 0x400), r.disk + 9 * 512 + 100, 900));
	CHECK(!memcmp(fake_ptr(&r.f, DATA + 0x800), r.disk + 9 * 512 + 1000, 24));
	CHECK_EQ(*fake_ptr(&r.f, DATA + 0x800 + 24), 0); /* status OK */
	rig_free(&r);
}

/* A looping chain: the device needs a reset, says so (status, interrupt, one report), serves
 * nothing more until the driver resets it, and works again afterwards. */
TEST(virtio_broken_ring_needs_reset)
{
	struct rig r;
	u16 used;

	rig_init(&r);
	driver_up(&r);
	fake_set_desc(&r.f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	fake_set_desc(&r.f, 1, DATA, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
	fake_offer(&r.f, 0);
	wr(&r, 0x050, 0);
	CHECK_EQ(rd(&r, 0x070), 0x4f);
	CHECK_EQ(rd(&r, 0x060), VIRTIO_INT_CONFIG);
	CHECK(line[INTID]);
	CHECK_EQ(reports, 1);
	CHECK_CONTAINS(last_report, "virtio-blk@3: queue 0: the chain from head 0 has more than 8 "
				    "descriptors (a loop?); device needs reset");
	/* nothing is served now, and nothing more is reported */
	used = fake_used_idx(&r.f);
	fake_set_desc(&r.f, 1, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	fake_offer(&r.f, 0);
	wr(&r, 0x050, 0);
	CHECK_EQ(fake_used_idx(&r.f), used);
	CHECK_EQ(reports, 1);
	wr(&r, 0x070, 0x0f); /* status writes keep the device's bit */
	CHECK_EQ(rd(&r, 0x070), 0x4f);
	wr(&r, 0x064, VIRTIO_INT_CONFIG);
	CHECK(!line[INTID]);
	/* reset: everything back to 0, queue not ready */
	wr(&r, 0x070, 0);
	CHECK_EQ(rd(&r, 0x070), 0);
	CHECK_EQ(rd(&r, 0x060), 0);
	CHECK_EQ(rd(&r, 0x044), 0);
	memset(fake_ptr(&r.f, FD_AVAIL), 0, 0x2000); /* the driver's fresh rings */
	driver_up(&r);
	CHECK_EQ(request(&r, 0, 0, 512, true, NULL), 0);
	CHECK_EQ(rd(&r, 0x070), 0x0f);
	rig_free(&r);
}

TEST(virtio_bad_queue_setup_and_order)
{
	struct rig r;

	rig_init(&r);
	/* rings outside RAM before DRIVER_OK: NEEDS_RESET, not ready, no interrupt yet */
	wr(&r, 0x070, 3);
	wr(&r, 0x024, 1);
	wr(&r, 0x020, 1);
	wr(&r, 0x070, 0x0b);
	wr(&r, 0x038, 8);
	wr(&r, 0x080, 0x20000000);
	wr(&r, 0x090, (u32)FD_AVAIL);
	wr(&r, 0x0a0, (u32)FD_USED);
	wr(&r, 0x044, 1);
	CHECK_EQ(rd(&r, 0x044), 0);
	CHECK_EQ(rd(&r, 0x070), 0x4b);
	CHECK_EQ(rd(&r, 0x060), 0);
	CHECK(!line[INTID]);
	CHECK_CONTAINS(last_report, "virtio-blk@3: queue 0: rings outside the VM's RAM "
				    "(descriptors 0x20000000");
	wr(&r, 0x070, 0);
	/* buffers made available before DRIVER_OK are served at the first notify after it */
	driver_up(&r);
	wr(&r, 0x070, 0x0b); /* (a driver would not clear DRIVER_OK; it makes the point) */
	fake_set_desc(&r.f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 2);
	fake_set_desc(&r.f, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	memset(fake_ptr(&r.f, HDR), 0, 16);
	*fake_ptr(&r.f, HDR) = 4; /* FLUSH */
	fake_offer(&r.f, 0);
	wr(&r, 0x050, 0);
	CHECK_EQ(fake_used_idx(&r.f), 0);
	wr(&r, 0x070, 0x0f);
	wr(&r, 0x050, 0);
	CHECK_EQ(fake_used_idx(&r.f), 1);
	/* queue registers do not change while the queue is ready; other queues do not exist */
	wr(&r, 0x080, 0x1000);
	CHECK_EQ(r.b->dev.q[0].desc, FD_DESC);
	wr(&r, 0x050, 1);
	wr(&r, 0x050, 0xffffffff);
	/* a request with no writable byte for its status: the ring is refused */
	fake_set_desc(&r.f, 0, HDR, 16, 0, 0);
	fake_offer(&r.f, 0);
	wr(&r, 0x050, 0);
	CHECK_EQ(rd(&r, 0x070), 0x4f);
	CHECK_CONTAINS(last_report, "request at head 0 has no writable status byte");
	rig_free(&r);
}

/* --- virtio-net: two ports on one switch, each with its own fake RAM and two queues --- */

#define NET_TXOFF 0x8000 /* queue 1's rings and buffers: queue 0's, this much higher */
#define NET_BUF(i) (FD_BUF + 0x800 * (u64)(i)) /* receive buffer i, 2 KiB */
#define NET_TXBUF (FD_BUF + NET_TXOFF)

struct nrig {
	struct fake rx, tx; /* tx: a view of the same RAM, shifted, for queue 1 */
	struct virtio_net *n;
};

static void nwr(struct nrig *r, u64 off, u32 val)
{
	CHECK(virtio_mmio_ops.write(&r->n->dev, off, 4, val));
}

static u64 nrd(struct nrig *r, u64 off, u32 width)
{
	u64 v = 0xdeadbeef;

	CHECK(virtio_mmio_ops.read(&r->n->dev, off, width, &v));
	return v;
}

static void nrig_init(struct nrig *r, struct vswitch *sw, u32 slot, u8 last)
{
	u8 mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, last };

	fake_init(&r->rx, RAM_SIZE, 8);
	r->tx = r->rx;
	r->tx.ram.host += NET_TXOFF;
	r->n = calloc(1, sizeof(*r->n));
	virtio_net_init(r->n, (struct vm *)(void *)&fake_vm, slot, &r->rx.ram, mac);
	CHECK_EQ(vswitch_attach(sw, &r->n->port), 0);
}

/* The driver's initialization with queues 0 (receive) and 1 (transmit) ready. */
static void net_up(struct nrig *r)
{
	nwr(r, 0x070, 0);
	nwr(r, 0x070, 3);
	nwr(r, 0x024, 0);
	nwr(r, 0x020, 1u << 5); /* MAC */
	nwr(r, 0x024, 1);
	nwr(r, 0x020, 1); /* VERSION_1 */
	nwr(r, 0x070, 0x0b);
	CHECK_EQ(nrd(r, 0x070, 4), 0x0b);
	for (u32 q = 0; q < 2; q++) {
		u64 off = q * NET_TXOFF;

		nwr(r, 0x030, q);
		CHECK_EQ(nrd(r, 0x034, 4), VIRTQ_MAX_SIZE);
		nwr(r, 0x038, 8);
		nwr(r, 0x080, (u32)(FD_DESC + off));
		nwr(r, 0x090, (u32)(FD_AVAIL + off));
		nwr(r, 0x0a0, (u32)(FD_USED + off));
		nwr(r, 0x044, 1);
		CHECK_EQ(nrd(r, 0x044, 4), 1);
	}
	nwr(r, 0x070, 0x0f);
}

/* Offers receive buffer i (2 KiB, device-writable) and notifies queue 0. */
static void net_rx_offer(struct nrig *r, u16 i)
{
	fake_set_desc(&r->rx, i, NET_BUF(i), 0x800, VIRTQ_DESC_F_WRITE, 0);
	fake_offer(&r->rx, i);
	nwr(r, 0x050, 0);
}

/* Sends a frame of len bytes to dst (tag fills the payload): header + frame in one buffer. */
static void net_send(struct nrig *r, const u8 *dst, u32 len, u8 tag)
{
	u8 *p = fake_ptr(&r->rx, NET_TXBUF);
	u16 idx = fake_used_idx(&r->tx);
	u32 id, n;

	memset(p, 0, VIRTIO_NET_HDR_LEN);
	memset(p + VIRTIO_NET_HDR_LEN, tag, len);
	memcpy(p + VIRTIO_NET_HDR_LEN, dst, 6);
	memcpy(p + VIRTIO_NET_HDR_LEN + 6, r->n->port.mac, 6);
	fake_set_desc(&r->tx, 0, NET_TXBUF, VIRTIO_NET_HDR_LEN + len, 0, 0);
	fake_offer(&r->tx, 0);
	nwr(r, 0x050, 1);
	CHECK_EQ(fake_used_idx(&r->tx), (u16)(idx + 1)); /* used at once, length 0 */
	fake_used_elem(&r->tx, idx, &id, &n);
	CHECK_EQ(id, 0);
	CHECK_EQ(n, 0);
}

static void nrig_free(struct nrig *r)
{
	fake_free(&r->rx);
	free(r->n);
}

TEST(virtio_net_ports_exchange_frames)
{
	static struct vswitch sw;
	struct nrig a, b;
	u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	u8 hdr[VIRTIO_NET_HDR_LEN] = { 0 };
	u32 id, n;
	u8 *got;

	memset(&sw, 0, sizeof(sw));
	vswitch_init(&sw, "lan0");
	memset(line, 0, sizeof(line));
	nrig_init(&a, &sw, 3, 1);
	nrig_init(&b, &sw, 4, 2);

	/* identity, features and configuration: MAC, LINK_UP */
	CHECK_EQ(nrd(&a, 0x008, 4), 1);
	nwr(&a, 0x014, 0);
	/* MAC, STATUS, INDIRECT_DESC, EVENT_IDX */
	CHECK_EQ(nrd(&a, 0x010, 4), (1u << 5) | (1u << 16) | (1u << 28) | (1u << 29));
	nwr(&a, 0x014, 1);
	CHECK_EQ(nrd(&a, 0x010, 4), 1);
	CHECK_EQ(nrd(&a, 0x100, 8), 0x0001013412005452ULL);
	net_up(&a);
	net_up(&b);

	/* b has one receive buffer: a's broadcast lands there with a header, b's line goes up */
	net_rx_offer(&b, 5);
	net_send(&a, bcast, 60, 0x5a);
	CHECK_EQ(fake_used_idx(&b.rx), 1);
	fake_used_elem(&b.rx, 0, &id, &n);
	CHECK_EQ(id, 5);
	CHECK_EQ(n, VIRTIO_NET_HDR_LEN + 60);
	got = fake_ptr(&b.rx, NET_BUF(5));
	hdr[10] = 1; /* num_buffers */
	CHECK(memcmp(got, hdr, sizeof(hdr)) == 0);
	CHECK(memcmp(got + VIRTIO_NET_HDR_LEN, bcast, 6) == 0);
	CHECK(memcmp(got + VIRTIO_NET_HDR_LEN + 6, a.n->port.mac, 6) == 0);
	CHECK_EQ(got[VIRTIO_NET_HDR_LEN + 59], 0x5a);
	CHECK(line[32 + 16 + 4]);
	CHECK_EQ(nrd(&b, 0x060, 4), 1);
	CHECK(line[32 + 16 + 3]); /* a's transmit buffer was used too */

	/* b has no receive buffer left: a's next frame (a full 1514 bytes) is dropped, counted */
	net_send(&a, b.n->port.mac, 1514, 0x6b);
	CHECK_EQ(fake_used_idx(&b.rx), 1);
	CHECK_EQ(b.n->port.rx_dropped, 1);
	net_rx_offer(&b, 6);
	net_send(&a, b.n->port.mac, 1514, 0x7c);
	fake_used_elem(&b.rx, 1, &id, &n);
	CHECK_EQ(id, 6);
	CHECK_EQ(n, VIRTIO_NET_HDR_LEN + 1514);
	CHECK_EQ(fake_ptr(&b.rx, NET_BUF(6))[VIRTIO_NET_HDR_LEN + 1513], 0x7c);

	/* b answers a (learned): a has no buffer yet, then one */
	net_rx_offer(&a, 0);
	net_send(&b, a.n->port.mac, 100, 0x8d);
	CHECK_EQ(fake_used_idx(&a.rx), 1);
	CHECK_EQ(fake_ptr(&a.rx, NET_BUF(0))[VIRTIO_NET_HDR_LEN + 99], 0x8d);

	/* frames too short or too long are used but not sent */
	net_rx_offer(&b, 7);
	net_send(&a, bcast, 13, 0x11);
	net_send(&a, bcast, 1515, 0x22);
	CHECK_EQ(fake_used_idx(&b.rx), 2);
	CHECK_EQ(a.n->port.tx_bad, 2);
	CHECK_EQ(a.n->port.tx, 3);
	CHECK_EQ(b.n->port.rx, 2);
	CHECK_EQ(a.n->port.rx, 1);

	/* a reset receiver takes nothing */
	nwr(&b, 0x070, 0);
	net_send(&a, bcast, 60, 0x33);
	CHECK_EQ(b.n->port.rx_dropped, 2);
	CHECK(!line[32 + 16 + 4]);
	nrig_free(&a);
	nrig_free(&b);
}

/* A read whose header, data and status sit in an indirect table at TBL. */
#define TBL (FD_BUF + 0x4000)
static void offer_indirect_read(struct rig *r, u32 len)
{
	u8 hdr[16] = { 0 }; /* IN, sector 0 */

	memcpy(fake_ptr(&r->f, HDR), hdr, 16);
	*fake_ptr(&r->f, STAT) = 0xEE;
	fake_set_desc(&r->f, 0, TBL, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	fake_set_table_desc(&r->f, TBL, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	fake_set_table_desc(&r->f, TBL, 1, DATA, len, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	fake_set_table_desc(&r->f, TBL, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	fake_offer(&r->f, 0);
}

/* The ring features reach the queue only if the driver accepts them: indirect requests served
 * or refused (NEEDS_RESET), interrupts by used_event or by the flags. */
TEST(virtio_ring_features_follow_negotiation)
{
	struct rig r;
	u32 id, n;

	rig_init(&r);
	/* accepted: an indirect read is served */
	driver_up_with(&r, (1u << 28) | (1u << 29));
	CHECK(r.b->dev.q[0].indirect && r.b->dev.q[0].event_idx);
	memset(r.disk, 0x5a, 1024);
	fake_set_used_event(&r.f, 0);
	offer_indirect_read(&r, 1024);
	wr(&r, 0x050, 0);
	CHECK_EQ(fake_used_idx(&r.f), 1);
	fake_used_elem(&r.f, 0, &id, &n);
	CHECK_EQ(n, 1025);
	CHECK_EQ(*fake_ptr(&r.f, STAT), 0);
	CHECK_EQ(fake_ptr(&r.f, DATA)[1023], 0x5a);
	CHECK(line[INTID]); /* used->idx passed used_event 0 */
	CHECK_EQ(fake_avail_event(&r.f), 1);
	wr(&r, 0x064, 1);
	CHECK(!line[INTID]);
	/* used_event not reached (the driver wants the interrupt two requests later): none */
	fake_set_used_event(&r.f, 3);
	offer_indirect_read(&r, 512);
	wr(&r, 0x050, 0);
	CHECK_EQ(fake_used_idx(&r.f), 2);
	CHECK(!line[INTID]);
	CHECK_EQ(rd(&r, 0x060), 0);
	/* a table outside RAM: the device needs a reset, one report */
	fake_set_desc(&r.f, 0, 0x20000000, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	fake_offer(&r.f, 0);
	wr(&r, 0x050, 0);
	CHECK_EQ(rd(&r, 0x070), 0x4f);
	CHECK_EQ(reports, 1);
	CHECK_CONTAINS(last_report, "virtio-blk@3: queue 0: descriptor 0: indirect table "
				    "0x20000000+0x30 is outside the VM's RAM; device needs reset");
	CHECK(line[INTID]); /* the configuration change interrupt */
	wr(&r, 0x064, 3);

	/* not accepted: the same indirect read breaks the ring, interrupts follow the flags */
	driver_up_with(&r, 1u << 9);
	CHECK(!r.b->dev.q[0].indirect && !r.b->dev.q[0].event_idx);
	memset(fake_ptr(&r.f, FD_USED), 0, 4); /* the driver's fresh rings */
	fake_set_used_event(&r.f, 7);
	CHECK_EQ(request(&r, 0, 0, 512, true, NULL), 0);
	CHECK(line[INTID]); /* used_event means nothing now */
	CHECK_EQ(fake_avail_event(&r.f), 2); /* left from before the reset: not written */
	wr(&r, 0x064, 1);
	offer_indirect_read(&r, 512);
	wr(&r, 0x050, 0);
	CHECK_EQ(rd(&r, 0x070), 0x4f);
	CHECK_CONTAINS(last_report, "descriptor 0 is indirect (not negotiated)");
	rig_free(&r);
}
