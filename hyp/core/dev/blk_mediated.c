/* The mediated virtio-blk backend (blk_mediated.h): requests of a guest's disk travel to the
 * daemon in the management VM as BHC_BLK_REQ messages on its "bulkhead.blk" port and come
 * back as BHC_BLK_DONE. A request keeps the guest buffers virtq_pop checked (host addresses
 * inside the guest's RAM) until its answer; a tag with a per-device generation makes answers
 * to a reset or destroyed device's requests harmless. Locks: the port's stream lock, then a
 * device's lock, then (to send) the port's own. */
#include <bulkhead/arch.h>
#include <bulkhead/blk_mediated.h>
#include <bulkhead/ctl_proto.h>
#include <bulkhead/errno.h>
#include <bulkhead/log.h>
#include <bulkhead/palloc.h>
#include <bulkhead/spinlock.h>
#include <bulkhead/string.h>
#include <bulkhead/virtio.h>
#include <bulkhead/virtio_console.h>
#include <bulkhead/vm.h>

#define INFLIGHT 32                  /* requests a disk may have outstanding */
#define SEGS (MED_SEG_MAX + 2)       /* header + data + status, as Linux frames them */
#define HDR ((u32)sizeof(struct bhc_hdr))
#define MSG_MAX (HDR + (u32)sizeof(struct bhc_blk_req) + BHC_BLK_MAX_DATA)
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define S_OK 0
#define S_IOERR 1

struct med_req {
	u64 tag;   /* 0: free */
	bool sent; /* on its way to the daemon (or answered) */
	u16 head;
	u32 op, len; /* enum bhc_blk_op; data bytes */
	u64 offset;
	u64 wr_len;  /* the writable stream's length: the status is its last byte */
	u32 nr_segs;
	struct vq_seg seg[SEGS];
};

struct blk_med {
	paddr_t pa;
	u64 pages;
	u32 vm_id, disk;
	const char *path;
	u64 gen;      /* bumped at every reset: the tag's low bits */
	u32 busy;     /* requests in flight */
	bool told;    /* said that its requests wait for a daemon (until one opens the port) */
	u64 sent, answered, stale; /* counters */
	struct med_req req[INFLIGHT];
	u8 msg[MSG_MAX]; /* the request being sent (device lock held) */
};

#define MED_PAGES (ALIGN_UP(sizeof(struct blk_med), PAGE_SIZE) / PAGE_SIZE)

static struct vcon_port *port;          /* the management VM's "bulkhead.blk" */
static spinlock_t stream_lock = SPINLOCK_INIT;
static u8 stream[MSG_MAX];              /* answers being reassembled (stream lock) */
static u32 stream_have;

/* tag: VM id (8 bits), disk (8), request slot (8), generation (40); never 0. */
static u64 make_tag(const struct blk_med *m, u32 i)
{
	return ((u64)m->vm_id << 56) | ((u64)m->disk << 48) | ((u64)i << 40) |
	       (m->gen & 0xFFFFFFFFFFULL);
}

int blk_med_create(struct vm *vm, struct virtio_blk *b, u32 disk, const char *path)
{
	paddr_t pa = vm_alloc_pages(vm, MED_PAGES, PAGE_SIZE);
	struct blk_med *m = pa ? arch_phys_to_virt(pa) : NULL;

	if (!m)
		return E_NOMEM;
	m->pa = pa;
	m->pages = MED_PAGES;
	m->vm_id = vm->id;
	m->disk = disk;
	m->path = path;
	m->gen = 1;
	b->med = m;
	return E_OK;
}

void blk_med_destroy(struct vm *vm, struct virtio_blk *b)
{
	if (!b->med)
		return;
	spin_lock(&stream_lock); /* no answer is being applied to it */
	vm_free_pages(vm, b->med->pa, b->med->pages);
	b->med = NULL;
	spin_unlock(&stream_lock);
}

bool blk_med_room(const struct virtio_blk *b)
{
	return b->med->busy < INFLIGHT;
}

void blk_med_reset(struct virtio_blk *b)
{
	struct blk_med *m = b->med;

	if (!m)
		return;
	for (u32 i = 0; i < INFLIGHT; i++)
		m->req[i].tag = 0;
	m->busy = 0;
	m->gen++;
}

/* Sends request i if the port has room for all of it (device lock held). */
static void try_send(struct virtio_blk *b, u32 i)
{
	struct blk_med *m = b->med;
	struct med_req *r = &m->req[i];
	struct bhc_blk_req q = { 0 };
	u32 data = r->op == BHC_BLK_WRITE ? r->len : 0;
	struct bhc_hdr h = { BHC_MAGIC, BHC_VERSION, BHC_BLK_REQ, 0,
			     (u32)sizeof(q) + data };

	if (!port || r->sent || vcon_port_room(port) < HDR + h.len)
		return;
	q.vm = m->vm_id;
	q.slot = b->dev.slot;
	q.tag = r->tag;
	q.op = r->op;
	q.len = r->len;
	q.offset = r->offset;
	q.size = b->size;
	memcpy(q.path, m->path, MIN(strlen(m->path), sizeof(q.path) - 1));
	memcpy(m->msg, &h, HDR);
	memcpy(m->msg + HDR, &q, sizeof(q));
	if (data) /* after the 16-byte request header in the readable stream */
		vq_segs_copy(r->seg, r->nr_segs, false, 16, m->msg + HDR + sizeof(q), data);
	if (vcon_port_write(port, m->msg, HDR + h.len) == HDR + h.len) {
		r->sent = true;
		m->sent++;
	}
}

static void send_pending(struct virtio_blk *b)
{
	for (u32 i = 0; i < INFLIGHT; i++)
		if (b->med->req[i].tag && !b->med->req[i].sent)
			try_send(b, i);
}

bool blk_med_take(struct virtio_blk *b, const struct vq_chain *c, u32 type, u64 sector)
{
	struct blk_med *m = b->med;
	struct med_req *r = NULL;
	u32 i;

	for (i = 0; i < INFLIGHT && !r; i++)
		if (!m->req[i].tag)
			r = &m->req[i];
	i--;
	if (!r || c->nr_segs > SEGS)
		return false;
	r->op = type == T_IN ? BHC_BLK_READ : type == T_OUT ? BHC_BLK_WRITE : BHC_BLK_FLUSH;
	r->len = (u32)MIN(r->op == BHC_BLK_READ ? c->wr_len - 1 : r->op == BHC_BLK_WRITE ?
			  c->rd_len - 16 : 0, (u64)BHC_BLK_MAX_DATA + 1);
	r->offset = sector * 512;
	if (r->len > BHC_BLK_MAX_DATA || r->len % 512 || sector > b->size / 512 ||
	    r->len / 512 > b->size / 512 - sector)
		return false;
	r->head = c->head;
	r->wr_len = c->wr_len;
	r->nr_segs = c->nr_segs;
	memcpy(r->seg, c->seg, c->nr_segs * sizeof(c->seg[0]));
	r->sent = false;
	r->tag = make_tag(m, i);
	m->busy++;
	try_send(b, i);
	if (!m->told && !(port && vcon_port_is_open(port))) {
		m->told = true;
		vm_report_vm(b->dev.vm, "virtio-blk@%u: its requests wait: no daemon has the "
			     "management VM's port '%s' open (`bhctl blkd` there serves '%s')",
			     b->dev.slot, BHC_BLK_PORT_NAME, m->path);
	}
	return true;
}

/* Applies one answer (stream lock held). */
static void complete(const struct bhc_blk_done *d, const u8 *data, u32 len)
{
	struct vm *vm = vm_get((u32)(d->tag >> 56));
	u32 disk = (u32)(d->tag >> 48) & 0xFF, i = (u32)(d->tag >> 40) & 0xFF;
	struct virtio_blk *b = vm && disk < CFG_MAX_VIRTIO ? vm->blk[disk] : NULL;
	struct med_req *r;
	u8 status;
	u32 written = 0;

	if (!b || i >= INFLIGHT)
		return;
	spin_lock(&b->dev.lock);
	r = b->med ? &b->med->req[i] : NULL;
	if (!r || r->tag != d->tag || !r->sent) {
		if (b->med)
			b->med->stale++; /* for a request forgotten by a reset: dropped */
		spin_unlock(&b->dev.lock);
		return;
	}
	status = d->status ? S_IOERR : S_OK;
	if (!d->status && r->op == BHC_BLK_READ) {
		if (len == r->len)
			written = (u32)vq_segs_copy(r->seg, r->nr_segs, true, 0, (u8 *)(uintptr_t)data,
						    len);
		else
			status = S_IOERR;
	}
	vq_segs_copy(r->seg, r->nr_segs, true, r->wr_len - 1, &status, 1);
	virtio_blk_count(b, r->op == BHC_BLK_READ ? T_IN : r->op == BHC_BLK_WRITE ? T_OUT : T_FLUSH,
			 status == S_OK, r->op == BHC_BLK_READ ? written : r->op == BHC_BLK_WRITE ?
			 r->len : 0);
	r->tag = 0;
	b->med->busy--;
	b->med->answered++;
	if (virtio_dev_serving(&b->dev, 0)) {
		virtq_push(&b->dev.q[0], r->head, written + 1);
		virtio_dev_used(&b->dev, 0);
		virtio_blk_resume(b); /* a request the full table held back */
		send_pending(b);
	}
	spin_unlock(&b->dev.lock);
}

/* Bytes from the daemon: whole BHC_BLK_DONE messages are applied; a broken header drops the
 * stream (the daemon is the management VM's; the guest is not hurt). */
static void port_rx(void *ctx, const u8 *data, u32 len)
{
	(void)ctx;
	spin_lock(&stream_lock);
	while (len) {
		u32 n = MIN(len, MSG_MAX - stream_have), at = 0;

		memcpy(stream + stream_have, data, n);
		stream_have += n;
		data += n;
		len -= n;
		while (stream_have - at >= HDR) {
			struct bhc_hdr h;
			struct bhc_blk_done d;

			memcpy(&h, stream + at, HDR);
			if (h.magic != BHC_MAGIC || h.version != BHC_VERSION ||
			    h.type != BHC_BLK_DONE || h.len < sizeof(d) ||
			    h.len > sizeof(d) + BHC_BLK_MAX_DATA) {
				log_line("mediated disks: bad message from the management VM's "
					 "daemon (type 0x%x, %u bytes); stream dropped", h.type, h.len);
				stream_have = at = 0;
				len = 0;
				break;
			}
			if (stream_have - at < HDR + h.len)
				break;
			memcpy(&d, stream + at + HDR, sizeof(d));
			complete(&d, stream + at + HDR + sizeof(d), h.len - (u32)sizeof(d));
			at += HDR + h.len;
		}
		memmove(stream, stream + at, stream_have - at);
		stream_have -= at;
	}
	spin_unlock(&stream_lock);
}

/* A daemon (re)opened the port: whatever was in flight is sent again to it (reads and writes
 * are idempotent); closing it loses nothing the guest was told is done. */
static void port_opened(void *ctx, bool open)
{
	u32 waiting = 0;

	(void)ctx;
	spin_lock(&stream_lock);
	stream_have = 0;
	if (open) {
		for (u32 id = 0; id < MAX_VMS; id++) {
			struct vm *vm = vm_get(id);

			for (u32 k = 0; vm && k < CFG_MAX_VIRTIO; k++) {
				struct virtio_blk *b = vm->blk[k];

				if (!b || !b->med)
					continue;
				spin_lock(&b->dev.lock);
				for (u32 i = 0; i < INFLIGHT; i++)
					b->med->req[i].sent = false;
				waiting += b->med->busy;
				b->med->told = false; /* a later wait is said again */
				send_pending(b);
				spin_unlock(&b->dev.lock);
			}
		}
	}
	spin_unlock(&stream_lock);
	if (open)
		log_line("mediated disks: a daemon opened port '%s': %u waiting request%s sent to it",
			 BHC_BLK_PORT_NAME, waiting, waiting == 1 ? "" : "s");
	else
		log_line("mediated disks: the daemon closed port '%s'", BHC_BLK_PORT_NAME);
}

static const struct vcon_port_ops port_ops = { port_rx, port_opened };

void blk_med_port_init(struct vm *mgmt)
{
	port = vcon_add_port(mgmt, BHC_BLK_PORT_NAME, &port_ops, NULL);
}
