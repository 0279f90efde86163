/* Mediated virtio-blk (the Rust-Shyper design): a disk whose blocks live in a file of the
 * management VM. The device model (virtio_blk.c) hands each checked read/write/flush to this
 * backend, which forwards it to the management VM's daemon (`bhctl blkd`) over its
 * "bulkhead.blk" port and completes the request when the answer comes back (docs/control.md). */
#ifndef BULKHEAD_BLK_MEDIATED_H
#define BULKHEAD_BLK_MEDIATED_H

#include <bulkhead/types.h>
#include <bulkhead/virtqueue.h>

struct vm;
struct virtio_blk;

#define MED_SEG_MAX 8       /* data buffers per request offered to the driver (seg_max) */
#define MED_SIZE_MAX 4096   /* bytes per data buffer offered (size_max): 32 KiB a request */

/* Allocates b's backend (from the VM's memory source) for disk index disk (vm->blk[disk]) and
 * the file path in the management VM. E_OK or E_NOMEM. */
int blk_med_create(struct vm *vm, struct virtio_blk *b, u32 disk, const char *path);
/* Frees it (the VM is stopped); answers arriving later are dropped. */
void blk_med_destroy(struct vm *vm, struct virtio_blk *b);
/* True if another request can be taken off the queue (device lock held). */
bool blk_med_room(const struct virtio_blk *b);
/* Takes a read (IN), write (OUT) or flush request: chain c (checked by virtq_pop, its first 16
 * readable bytes the header with type and sector) is kept and forwarded; completed later.
 * Returns false if the request is malformed or too big (the caller completes it with an
 * error at once). Device lock held. */
bool blk_med_take(struct virtio_blk *b, const struct vq_chain *c, u32 type, u64 sector);
/* Device reset (lock held): requests in flight are forgotten. */
void blk_med_reset(struct virtio_blk *b);
/* The management VM exists: opens its "bulkhead.blk" port (no port: mediated disks wait). */
void blk_med_port_init(struct vm *mgmt);

#endif
