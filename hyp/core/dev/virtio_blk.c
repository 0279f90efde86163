/* virtio-blk (virtio 1.2 §5.2) over a RAM disk the hypervisor owns: read, write, flush and
 * get-ID requests, served synchronously when the driver notifies the queue. */
#include <bulkhead/blk_mediated.h>
#include <bulkhead/string.h>
#include <bulkhead/virtio.h>

#define SECTOR 512
#define HDR_LEN 16 /* struct virtio_blk_req header: type, reserved, sector */

/* Feature bits (§5.2.3). */
#define F_SIZE_MAX BIT(1)
#define F_SEG_MAX BIT(2)
#define F_BLK_SIZE BIT(6)
#define F_FLUSH BIT(9)

#define SIZE_MAX_BYTES (64 * 1024) /* largest buffer (segment) offered */
#define SEG_MAX (VIRTQ_MAX_SIZE - 2) /* data buffers, besides header and status */

/* Configuration layout (struct virtio_blk_config). */
#define CFG_CAPACITY 0
#define CFG_SIZE_MAX 8
#define CFG_SEG_MAX 12
#define CFG_BLK_SIZE 20

/* Request types and status values. */
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2

struct req_hdr {
	u32 type;
	u32 reserved;
	u64 sector;
};

void virtio_blk_count(struct virtio_blk *b, u32 type, bool ok, u64 bytes)
{
	if (!ok) {
		b->errors++;
	} else if (type == T_IN) {
		b->reads++;
		b->read_bytes += bytes;
	} else if (type == T_OUT) {
		b->writes++;
		b->written_bytes += bytes;
	} else if (type == T_FLUSH) {
		b->flushes++;
	}
}

/* True if [sector, sector + bytes / SECTOR) lies on the disk; bytes a multiple of SECTOR. */
static bool in_disk(const struct virtio_blk *b, u64 sector, u64 bytes)
{
	u64 sectors = b->size / SECTOR;

	return bytes % SECTOR == 0 && sector <= sectors && bytes / SECTOR <= sectors - sector;
}

/* IN: the disk into the writable stream, all but its last byte (the status). */
static u8 do_read(struct virtio_blk *b, const struct vq_chain *c, u64 sector, u32 *written)
{
	u64 len = c->wr_len - 1;

	if (!in_disk(b, sector, len))
		return S_IOERR;
	*written = (u32)vq_write(c, 0, b->disk + sector * SECTOR, len);
	return S_OK;
}

/* OUT: the readable stream after the header onto the disk. */
static u8 do_write(struct virtio_blk *b, const struct vq_chain *c, u64 sector)
{
	u64 len = c->rd_len - HDR_LEN;

	if (!in_disk(b, sector, len))
		return S_IOERR;
	vq_read(c, HDR_LEN, b->disk + sector * SECTOR, len);
	return S_OK;
}

static u8 do_get_id(struct virtio_blk *b, const struct vq_chain *c, u32 *written)
{
	u8 id[VIRTIO_BLK_SERIAL_LEN] = { 0 };

	if (c->wr_len - 1 < VIRTIO_BLK_SERIAL_LEN)
		return S_IOERR;
	memcpy(id, b->serial, strlen(b->serial)); /* NUL-padded, unterminated if 20 long */
	*written = (u32)vq_write(c, 0, id, sizeof(id));
	return S_OK;
}

/* Serves one request; returns the bytes written into the chain (data and status). The chain
 * has at least one writable byte: the status, its last. */
static u32 serve(struct virtio_blk *b, const struct vq_chain *c)
{
	struct req_hdr h = { 0 };
	u32 written = 0;
	u8 status;

	if (vq_read(c, 0, &h, sizeof(h)) < HDR_LEN)
		status = S_IOERR;
	else if (h.type == T_IN)
		status = do_read(b, c, h.sector, &written);
	else if (h.type == T_OUT)
		status = do_write(b, c, h.sector);
	else if (h.type == T_FLUSH)
		status = S_OK; /* a RAM disk: every write is already where it belongs */
	else if (h.type == T_GET_ID)
		status = do_get_id(b, c, &written);
	else
		status = S_UNSUPP;
	vq_write(c, c->wr_len - 1, &status, 1);
	virtio_blk_count(b, h.type, status == S_OK, h.type == T_IN ? written :
			 h.type == T_OUT ? c->rd_len - HDR_LEN : 0);
	return written + 1;
}

/* A mediated disk's read, write or flush goes to the management VM (completed later); false
 * if the request is one it serves itself (get-ID, unsupported) or cannot take (too big). */
static bool mediate(struct virtio_blk *b, const struct vq_chain *c)
{
	struct req_hdr h;

	if (vq_read(c, 0, &h, sizeof(h)) < HDR_LEN ||
	    (h.type != T_IN && h.type != T_OUT && h.type != T_FLUSH))
		return false;
	return blk_med_take(b, c, h.type, h.sector);
}

/* Serves the queue; a mediated disk stops taking requests while its table is full. */
/* What a mediated disk answers itself: get-ID; an IN/OUT it could not take (bigger than the
 * limits it offered) fails, anything else is unsupported. */
static u32 med_local(struct virtio_blk *b, const struct vq_chain *c)
{
	struct req_hdr h = { 0 };
	u32 written = 0;
	u8 status = S_IOERR;

	if (vq_read(c, 0, &h, sizeof(h)) == HDR_LEN && h.type == T_GET_ID)
		status = do_get_id(b, c, &written);
	else if (vq_read(c, 0, &h, sizeof(h)) == HDR_LEN && h.type != T_IN && h.type != T_OUT &&
		 h.type != T_FLUSH)
		status = S_UNSUPP;
	vq_write(c, c->wr_len - 1, &status, 1);
	virtio_blk_count(b, h.type, status == S_OK, 0);
	return written + 1;
}

static const char *blk_notify(struct virtio_dev *d, u32 qi)
{
	struct virtio_blk *b = container_of(d, struct virtio_blk, dev);
	struct virtq *q = &d->q[qi];
	enum vq_pop r = VQ_EMPTY;

	while ((!b->med || blk_med_room(b)) &&
	       (r = virtq_pop(q, &d->ram, &d->chain)) == VQ_CHAIN) {
		if (!d->chain.wr_len) {
			snprintf(q->err, sizeof(q->err),
				 "request at head %u has no writable status byte", d->chain.head);
			return q->err;
		}
		if (b->med && mediate(b, &d->chain))
			continue;
		virtq_push(q, d->chain.head, b->med ? med_local(b, &d->chain) : serve(b, &d->chain));
	}
	return r == VQ_BROKEN ? q->err : NULL;
}

void virtio_blk_resume(struct virtio_blk *b)
{
	const char *why;

	if (!virtio_dev_serving(&b->dev, 0))
		return;
	why = blk_notify(&b->dev, 0);
	if (why)
		virtio_dev_fail(&b->dev, 0, why);
	else
		virtio_dev_used(&b->dev, 0);
}

static void blk_reset(struct virtio_dev *d)
{
	blk_med_reset(container_of(d, struct virtio_blk, dev));
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_BLK_ID,
	.features = VIRTIO_F_COMMON | F_SIZE_MAX | F_SEG_MAX | F_BLK_SIZE | F_FLUSH,
	.nr_queues = 1,
	.notify = blk_notify,
	.reset = blk_reset,
};

static void put_le(u8 *p, u64 v, u32 bytes)
{
	for (u32 i = 0; i < bytes; i++)
		p[i] = (u8)(v >> (8 * i));
}

void virtio_blk_init(struct virtio_blk *b, struct vm *vm, const char *name, u32 slot,
		     const struct guest_ram *ram, u8 *disk, u64 size)
{
	virtio_dev_init(&b->dev, &blk_ops, vm, slot, ram);
	b->disk = disk;
	b->size = size;
	snprintf(b->serial, sizeof(b->serial), "bulkhead-%s-%u", name, slot);
	put_le(b->dev.config + CFG_CAPACITY, size / SECTOR, 8);
	/* a mediated request travels whole in one message: at most 32 KiB */
	put_le(b->dev.config + CFG_SIZE_MAX, disk ? SIZE_MAX_BYTES : MED_SIZE_MAX, 4);
	put_le(b->dev.config + CFG_SEG_MAX, disk ? SEG_MAX : MED_SEG_MAX, 4);
	put_le(b->dev.config + CFG_BLK_SIZE, SECTOR, 4);
}
