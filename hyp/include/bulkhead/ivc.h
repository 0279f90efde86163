/* Shared-memory channels between two VMs (inter-VM communication, "ivc"): a zeroed region from
 * the page allocator mapped into both VMs at the same guest-physical address, and per VM a 4 KiB
 * doorbell page right after it whose DOORBELL register raises the channel's SPI in the peer.
 * Created once every VM exists; they live as long as the machine. See docs/guest-interface.md. */
#ifndef BULKHEAD_IVC_H
#define BULKHEAD_IVC_H

#include <bulkhead/config.h>
#include <bulkhead/types.h>

/* The doorbell page (32-bit aligned accesses only; anything else: external abort). */
#define IVC_REG_DOORBELL 0x00 /* WO: any value raises the channel's SPI in the peer; reads 0 */
#define IVC_REG_MAGIC 0x04    /* RO: IVC_MAGIC */
#define IVC_REG_ID 0x08       /* RO: the channel's index in /channels */
#define IVC_REG_ROLE 0x0C     /* RO: 0 in the first VM of 'vms', 1 in the second */
#define IVC_REG_SIZE 0x10     /* RO: bytes of the shared region */
#define IVC_REG_INTID 0x14    /* RO: the doorbell's INTID (the same in both VMs) */
#define IVC_MAGIC 0x56494842  /* "BHIV" as little-endian bytes */
#define IVC_INTID0 (32 + CFG_CHAN_SPI0) /* channel n: INTID 80 + n */

struct vm;
struct ivc_chan;

/* One VM's end of a channel. */
struct ivc_end {
	struct ivc_chan *chan;
	struct vm *vm, *peer;
	u32 role;
};

struct ivc_chan {
	struct cfg_channel cfg;
	paddr_t pa;  /* the shared region (cfg.size bytes) */
	u32 intid;
	struct ivc_end end[2];
};

/* Creates channel cfg between the created (not yet started) VMs a (role 0) and b (role 1):
 * allocates and zeroes its region, maps it into both and adds both doorbell pages. Returns
 * E_FULL (a VM's MMIO table or channel list is full, or the doorbell page is taken), E_NOMEM,
 * or a stage-2 error; the VMs then get no doorbell and no device tree node. Stage-2 cannot
 * unmap yet: if the second mapping fails, the region stays mapped in the first VM and is
 * never freed (not handed out again). */
int ivc_create(const struct cfg_channel *cfg, struct vm *a, struct vm *b);

#endif
