/* Shared-memory channels between two VMs (inter-VM communication, "ivc"): a zeroed region from
 * the page allocator mapped into both VMs at the same guest-physical address, and per VM a 4 KiB
 * doorbell page right after it whose DOORBELL register raises the channel's SPI in the peer.
 * Created once every VM exists (boot-time VMs only); a channel lasts until both its VMs are
 * destroyed. See docs/guest-interface.md. */
#ifndef BULKHEAD_IVC_H
#define BULKHEAD_IVC_H

#include <bulkhead/config.h>
#include <bulkhead/spinlock.h>
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
	struct vm *vm, *peer; /* NULL once that VM is destroyed (under chan->lock) */
	u32 role;
	bool told; /* said once that its doorbell rings nobody */
	char peer_name[CFG_NAME_MAX]; /* for its device tree: kept after the peer is destroyed */
};

struct ivc_chan {
	struct cfg_channel cfg;
	paddr_t pa;  /* the shared region (cfg.size bytes); 0 once both VMs are destroyed */
	u32 intid;
	spinlock_t lock; /* the ends' vm and peer: a ring holds it while it raises the interrupt */
	struct ivc_end end[2];
};

/* Creates channel cfg between the created (not yet started) VMs a (role 0) and b (role 1):
 * allocates and zeroes its region, maps it into both and adds both doorbell pages. Returns
 * E_FULL (a VM's MMIO table or channel list is full, or the doorbell page is taken), E_NOMEM,
 * or a stage-2 error; the VMs then get no doorbell and no device tree node. Stage-2 cannot
 * unmap yet: if the second mapping fails, the region stays mapped in the first VM and is
 * never freed (not handed out again). */
int ivc_create(const struct cfg_channel *cfg, struct vm *a, struct vm *b);
/* VM vm is being destroyed (its vCPUs off their CPUs, before its stage-2 goes): each of its
 * channels forgets it, so the peer's doorbell rings nobody from now on (and never a VM that
 * takes its slot later); a channel whose two VMs are both gone gives its region back,
 * scrubbed. The survivor keeps the region mapped. */
void ivc_vm_gone(struct vm *vm);

#endif
