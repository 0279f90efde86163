/* Tests for the mediated virtio-blk backend (hyp/core/dev/blk_mediated.c, compiled into this
 * file with its outside calls renamed to fakes): a guest driver's requests on a fake RAM become
 * BHC_BLK_REQ messages on a fake management port; answers fed back as the daemon would (whole,
 * split, late after a reset, malformed) complete them, or are dropped. */
#include <stdarg.h>
#include <stdlib.h>

#define vm_get fake_vm_get
#define vm_alloc_pages fake_alloc_pages
#define vm_free_pages fake_free_pages
#define arch_phys_to_virt fake_phys_to_virt
#define vcon_port_room fake_port_room
#define vcon_port_write fake_port_write
#define vcon_add_port fake_add_port
#define vcon_port_is_open fake_port_is_open
#include "../../hyp/core/dev/blk_mediated.c"
#undef vm_get
#undef vm_alloc_pages
#undef vm_free_pages
#undef arch_phys_to_virt
#undef vcon_port_room
#undef vcon_port_write
#undef vcon_add_port
#undef vcon_port_is_open
#undef CHECK /* log.h's; unit.h has the tests' own */

#include "fake_driver.h"
#include "unit.h"
#include "virtio_fakes.h"

#define SLOT 5
#define DISK (64 * 1024 * 1024ULL)
#define HDRA FD_BUF
#define DATA (FD_BUF + 0x1000)
#define STAT (FD_BUF + 0x20000)

/* --- the outside world --- */

static struct vm vmx;          /* the guest VM, as vm_get finds it */
static u8 sent[64 * 1024];     /* what the backend wrote to the management port */
static u32 sent_len, room = 64 * 1024;
static const struct vcon_port_ops *mport_ops;
static int mport;              /* the fake port's identity */

struct vm *fake_vm_get(u32 id)
{
	return id == vmx.id && vmx.used ? &vmx : NULL;
}

paddr_t fake_alloc_pages(const struct vm *vm, u64 npages, u64 align)
{
	(void)vm;
	void *p = aligned_alloc(align, npages * PAGE_SIZE);

	memset(p, 0, npages * PAGE_SIZE);
	return (paddr_t)(uintptr_t)p;
}

void fake_free_pages(const struct vm *vm, paddr_t pa, u64 npages)
{
	(void)vm;
	(void)npages;
	free((void *)(uintptr_t)pa);
}

void *fake_phys_to_virt(paddr_t pa)
{
	return (void *)(uintptr_t)pa;
}

u32 fake_port_room(struct vcon_port *p)
{
	CHECK(p == (struct vcon_port *)(void *)&mport);
	return room;
}

u32 fake_port_write(struct vcon_port *p, const void *data, u32 len)
{
	CHECK(p == (struct vcon_port *)(void *)&mport);
	CHECK(len <= room && sent_len + len <= sizeof(sent));
	memcpy(sent + sent_len, data, len);
	sent_len += len;
	return len;
}

static bool port_open = true; /* a daemon has the port open */

bool fake_port_is_open(struct vcon_port *p)
{
	CHECK(p == (struct vcon_port *)(void *)&mport);
	return port_open;
}

struct vcon_port *fake_add_port(struct vm *vm, const char *name,
				const struct vcon_port_ops *ops, void *ctx)
{
	(void)vm;
	(void)ctx;
	CHECK_STR(name, "bulkhead.blk");
	mport_ops = ops;
	return (struct vcon_port *)(void *)&mport;
}

/* --- a guest driver --- */

struct rig {
	struct fake f;
	struct virtio_blk *b;
};

static void wr(struct rig *r, u64 off, u32 val)
{
	CHECK(virtio_mmio_ops.write(&r->b->dev, off, 4, val));
}

static u32 rd(struct rig *r, u64 off)
{
	u64 v = 0;

	CHECK(virtio_mmio_ops.read(&r->b->dev, off, 4, &v));
	return (u32)v;
}

static void driver_up(struct rig *r)
{
	wr(r, 0x070, 0);
	wr(r, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(r, 0x024, 1);
	wr(r, 0x020, 1); /* VERSION_1 */
	wr(r, 0x070, 0x0b);
	wr(r, 0x030, 0);
	wr(r, 0x038, r->f.num);
	wr(r, 0x080, (u32)FD_DESC);
	wr(r, 0x090, (u32)FD_AVAIL);
	wr(r, 0x0a0, (u32)FD_USED);
	wr(r, 0x044, 1);
	wr(r, 0x070, 0x0f);
	r->f.avail = r->f.used = 0;
}

static void rig_init(struct rig *r)
{
	memset(&vmx, 0, sizeof(vmx));
	vmx.id = 2;
	vmx.used = true;
	fake_init(&r->f, 1024 * 1024, 16);
	r->b = calloc(1, sizeof(*r->b));
	virtio_blk_init(r->b, (struct vm *)(void *)&fake_vm, "vm2", SLOT, &r->f.ram, NULL, DISK);
	vmx.blk[0] = r->b;
	CHECK_EQ(blk_med_create(&vmx, r->b, 0, "/tmp/store.img"), E_OK);
	blk_med_port_init(&vmx);
	sent_len = 0;
	room = 64 * 1024;
	memset(line, 0, sizeof(line));
	driver_up(r);
}

static void rig_free(struct rig *r)
{
	blk_med_destroy(&vmx, r->b);
	fake_free(&r->f);
	free(r->b);
}

/* Offers request head (descriptors 3*head..3*head+2): type, sector, len data bytes at
 * DATA + head * 0x8000 (device-writable for reads), status at STAT + head. Notifies. */
static void offer(struct rig *r, u16 head, u32 type, u64 sector, u32 len)
{
	u8 hdr[16] = { 0 };
	u16 d = (u16)(3 * head);

	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	memcpy(fake_ptr(&r->f, HDRA + 16 * head), hdr, 16);
	*fake_ptr(&r->f, STAT + head) = 0xEE;
	fake_set_desc(&r->f, d, HDRA + 16 * head, 16, VIRTQ_DESC_F_NEXT, len ? d + 1 : d + 2);
	fake_set_desc(&r->f, d + 1, DATA + head * 0x8000ULL, len,
		      VIRTQ_DESC_F_NEXT | (type == 0 ? VIRTQ_DESC_F_WRITE : 0), d + 2);
	fake_set_desc(&r->f, d + 2, STAT + head, 1, VIRTQ_DESC_F_WRITE, 0);
	fake_offer(&r->f, d);
	wr(r, 0x050, 0);
}

/* The n-th request message sent (0-based): its record and data. */
static const u8 *nth_req(u32 n, struct bhc_blk_req *q)
{
	u32 at = 0;
	struct bhc_hdr h;

	for (;;) {
		CHECK(at + sizeof(h) <= sent_len);
		memcpy(&h, sent + at, sizeof(h));
		CHECK_EQ(h.magic, BHC_MAGIC);
		CHECK_EQ(h.type, BHC_BLK_REQ);
		if (n-- == 0)
			break;
		at += sizeof(h) + h.len;
	}
	memcpy(q, sent + at + sizeof(h), sizeof(*q));
	return sent + at + sizeof(h) + sizeof(*q);
}

/* An answer as the daemon writes it: header, record, data; returns its length in buf. */
static u32 answer(u8 *buf, u64 tag, int32_t status, const u8 *data, u32 len)
{
	struct bhc_blk_done d = { tag, status, len };
	struct bhc_hdr h = { BHC_MAGIC, BHC_VERSION, BHC_BLK_DONE, 0, (u32)sizeof(d) + len };

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &d, sizeof(d));
	if (len)
		memcpy(buf + sizeof(h) + sizeof(d), data, len);
	return (u32)(sizeof(h) + sizeof(d)) + len;
}

static u8 ans[64 * 1024];

TEST(blk_mediated_write_then_read)
{
	struct rig r;
	struct bhc_blk_req q;
	const u8 *data;
	u8 pattern[1024];
	u32 id, n, len;

	rig_init(&r);
	CHECK_EQ(rd(&r, 0x108), MED_SIZE_MAX); /* what one request may carry: 8 x 4 KiB */
	CHECK_EQ(rd(&r, 0x10c), MED_SEG_MAX);
	for (u32 i = 0; i < sizeof(pattern); i++)
		pattern[i] = (u8)(i * 7);
	memcpy(fake_ptr(&r.f, DATA), pattern, sizeof(pattern));
	offer(&r, 0, 1 /* OUT */, 2, sizeof(pattern));
	CHECK_EQ(fake_used_idx(&r.f), 0); /* waits for the management VM */
	data = nth_req(0, &q);
	CHECK_EQ(q.vm, 2);
	CHECK_EQ(q.slot, SLOT);
	CHECK_EQ(q.op, BHC_BLK_WRITE);
	CHECK_EQ(q.len, 1024);
	CHECK_EQ(q.offset, 1024);
	CHECK_EQ(q.size, DISK);
	CHECK_STR(q.path, "/tmp/store.img");
	CHECK(memcmp(data, pattern, sizeof(pattern)) == 0);
	len = answer(ans, q.tag, 0, NULL, 0);
	mport_ops->rx(NULL, ans, len);
	CHECK_EQ(fake_used_idx(&r.f), 1);
	CHECK_EQ(*fake_ptr(&r.f, STAT), 0); /* OK */
	CHECK(line[32 + 16 + SLOT]);

	/* a read, its answer arriving in two pieces */
	offer(&r, 1, 0 /* IN */, 2, 1024);
	nth_req(1, &q);
	CHECK_EQ(q.op, BHC_BLK_READ);
	CHECK_EQ(q.len, 1024);
	len = answer(ans, q.tag, 0, pattern, sizeof(pattern));
	mport_ops->rx(NULL, ans, 10);
	CHECK_EQ(fake_used_idx(&r.f), 1);
	mport_ops->rx(NULL, ans + 10, len - 10);
	CHECK_EQ(fake_used_idx(&r.f), 2);
	fake_used_elem(&r.f, 1, &id, &n);
	CHECK_EQ(id, 3);
	CHECK_EQ(n, 1025);
	CHECK(memcmp(fake_ptr(&r.f, DATA + 0x8000), pattern, sizeof(pattern)) == 0);
	CHECK_EQ(*fake_ptr(&r.f, STAT + 1), 0);
	/* the same answer again (a confused daemon): dropped */
	mport_ops->rx(NULL, ans, len);
	CHECK_EQ(fake_used_idx(&r.f), 2);
	CHECK_EQ(r.b->med->stale, 1);
	/* counted once each, when the daemon answered */
	CHECK_EQ(r.b->writes, 1);
	CHECK_EQ(r.b->written_bytes, 1024);
	CHECK_EQ(r.b->reads, 1);
	CHECK_EQ(r.b->read_bytes, 1024);
	CHECK_EQ(r.b->errors, 0);
	rig_free(&r);
}

TEST(blk_mediated_errors)
{
	struct rig r;
	struct bhc_blk_req q;
	u32 len;

	rig_init(&r);
	/* the daemon's error: IOERR for the guest */
	offer(&r, 0, 0, 0, 512);
	nth_req(0, &q);
	len = answer(ans, q.tag, -5, NULL, 0);
	mport_ops->rx(NULL, ans, len);
	CHECK_EQ(*fake_ptr(&r.f, STAT), 1);
	/* a read answered with the wrong amount of data: IOERR, nothing copied */
	memset(fake_ptr(&r.f, DATA + 0x8000), 0x11, 512);
	offer(&r, 1, 0, 0, 512);
	nth_req(1, &q);
	len = answer(ans, q.tag, 0, (const u8 *)"short", 5);
	mport_ops->rx(NULL, ans, len);
	CHECK_EQ(*fake_ptr(&r.f, STAT + 1), 1);
	CHECK_EQ(*fake_ptr(&r.f, DATA + 0x8000), 0x11);
	/* more than one message may carry, and past the end of the disk: IOERR at once */
	offer(&r, 2, 0, 0, 64 * 1024);
	CHECK_EQ(*fake_ptr(&r.f, STAT + 2), 1);
	offer(&r, 3, 1, DISK / 512 - 1, 1024);
	CHECK_EQ(*fake_ptr(&r.f, STAT + 3), 1);
	CHECK_EQ(fake_used_idx(&r.f), 4);
	/* a malformed message drops the stream, not the device */
	len = answer(ans, 1, 0, NULL, 0);
	ans[4] = 9; /* version 9 */
	mport_ops->rx(NULL, ans, len);
	offer(&r, 4, 1, 0, 512);
	nth_req(2, &q);
	len = answer(ans, q.tag, 0, NULL, 0);
	mport_ops->rx(NULL, ans, len);
	CHECK_EQ(*fake_ptr(&r.f, STAT + 4), 0);
	rig_free(&r);
}

TEST(blk_mediated_reset_and_reopen)
{
	struct rig r;
	struct bhc_blk_req q;
	u32 len;

	rig_init(&r);
	/* an answer to a request the guest's reset forgot is dropped: nothing lands in RAM */
	memset(fake_ptr(&r.f, DATA), 0x22, 512);
	offer(&r, 0, 0, 0, 512);
	nth_req(0, &q);
	wr(&r, 0x070, 0); /* reset */
	driver_up(&r);
	len = answer(ans, q.tag, 0, (const u8 *)memset(ans + 32768, 0x33, 512), 512);
	mport_ops->rx(NULL, ans, len);
	CHECK_EQ(*fake_ptr(&r.f, DATA), 0x22);
	CHECK_EQ(r.b->med->stale, 1);
	CHECK_EQ(r.b->med->busy, 0);
	/* no daemon, the port full: the request waits (said once, naming the disk's file), and
	 * goes when a daemon (re)opens the port */
	sent_len = 0;
	room = 100;
	port_open = false;
	reports = 0;
	offer(&r, 0, 1, 4, 512);
	CHECK_EQ(sent_len, 0);
	CHECK_EQ(reports, 1);
	CHECK(strstr(last_report, "virtio-blk@5: its requests wait: no daemon has the management "
			 "VM's port 'bulkhead.blk' open") != NULL);
	CHECK(strstr(last_report, "'/tmp/store.img'") != NULL);
	room = 64 * 1024;
	port_open = true;
	mport_ops->opened(NULL, true);
	CHECK_EQ(reports, 2);
	CHECK_STR(last_report, "mediated disks: a daemon opened port 'bulkhead.blk': 1 waiting "
			       "request sent to it");
	CHECK_EQ(r.b->med->told, false);
	nth_req(0, &q);
	CHECK_EQ(q.offset, 2048);
	len = answer(ans, q.tag, 0, NULL, 0);
	mport_ops->rx(NULL, ans, len);
	CHECK_EQ(*fake_ptr(&r.f, STAT), 0);
	/* a destroyed VM's answers find nothing */
	offer(&r, 1, 1, 4, 512);
	nth_req(1, &q);
	vmx.used = false;
	len = answer(ans, q.tag, 0, NULL, 0);
	mport_ops->rx(NULL, ans, len);
	CHECK_EQ(*fake_ptr(&r.f, STAT + 1), 0xEE);
	rig_free(&r);
}
