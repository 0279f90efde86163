/* Shared-memory channels between two VMs (see bulkhead/ivc.h, docs/guest-interface.md).
 *
 * The region is normal RAM from the page allocator (zeroed), mapped read-write into both VMs'
 * stage-2 at the configured IPA (executable: the stage-2 tables have no XN control yet). The
 * doorbell page after it is emulated MMIO: a DOORBELL write is one exit that takes the channel's
 * lock and the peer VM's and raises the channel's SPI there (edge: it becomes pending on the
 * vCPU its routing names). Nothing allocates or prints per ring, so a guest ringing in a loop
 * only spends its own time (and wakes its peer, which agreed to the channel). Either VM may be
 * destroyed: the other keeps the region and its doorbell rings nobody; when both are gone the
 * region is freed. */
#include <bulkhead/arch.h>
#include <bulkhead/errno.h>
#include <bulkhead/ivc.h>
#include <bulkhead/log.h>
#include <bulkhead/palloc.h>
#include <bulkhead/string.h>
#include <bulkhead/vm.h>

static struct ivc_chan chans[CFG_MAX_CHANNELS];

/* Raises the channel's interrupt in the peer, unless the peer is not running (powered off,
 * stopped, or being reset: its GIC state is being rebuilt then, so nothing may touch it) or was
 * destroyed (then says so, once). The channel's lock keeps the peer from being destroyed
 * meanwhile: ivc_vm_gone() takes it. */
static void ring(struct ivc_end *e)
{
	struct ivc_chan *ch = e->chan;
	struct vm *peer, *self;
	bool tell = false;

	spin_lock(&ch->lock);
	peer = e->peer;
	self = e->vm; /* the ringing VM: running, so not being destroyed */
	if (peer) {
		spin_lock(&peer->lock);
		if (peer->state == VM_RUNNING)
			arch_vm_irq_raise(peer, ch->intid);
		spin_unlock(&peer->lock);
	} else if (!e->told) {
		e->told = tell = true;
	}
	spin_unlock(&ch->lock);
	if (tell)
		vm_report_vm(self, "doorbell of channel '%s' rung: its peer was destroyed, nobody "
			     "hears it (said once)", ch->cfg.name);
}

static bool db_read(void *dev, u64 off, u32 width, u64 *value)
{
	const struct ivc_end *e = dev;

	if (width != 4 || (off & 3))
		return false;
	switch (off) {
	case IVC_REG_MAGIC:
		*value = IVC_MAGIC;
		break;
	case IVC_REG_ID:
		*value = e->chan->cfg.id;
		break;
	case IVC_REG_ROLE:
		*value = e->role;
		break;
	case IVC_REG_SIZE:
		*value = (u32)e->chan->cfg.size;
		break;
	case IVC_REG_INTID:
		*value = e->chan->intid;
		break;
	default: /* DOORBELL and the rest of the page read as 0 */
		*value = 0;
	}
	return true;
}

static bool db_write(void *dev, u64 off, u32 width, u64 value)
{
	(void)value;
	if (width != 4 || (off & 3))
		return false;
	if (off == IVC_REG_DOORBELL)
		ring(dev);
	return true; /* writes to the read-only registers are ignored */
}

static const struct mmio_ops ivc_doorbell_ops = { "ivc-doorbell", db_read, db_write };

/* True if VM vm can take one more doorbell page at gpa (checked before anything changes). */
static bool room_for(const struct vm *vm, gpa_t gpa)
{
	return vm->mmio.count < VM_MAX_MMIO && vm->nr_ivc < CFG_MAX_CHANNELS &&
	       !mmio_find(&vm->mmio, gpa);
}

int ivc_create(const struct cfg_channel *cfg, struct vm *a, struct vm *b)
{
	struct ivc_chan *ch;
	struct vm *vm[2] = { a, b };
	gpa_t db = cfg->ipa + cfg->size;
	u64 pages = cfg->size / PAGE_SIZE;
	int r;

	if (cfg->id >= CFG_MAX_CHANNELS || !cfg->size || a == b)
		return E_INVAL;
	if (!room_for(a, db) || !room_for(b, db))
		return E_FULL;
	ch = &chans[cfg->id];
	memset(ch, 0, sizeof(*ch));
	ch->cfg = *cfg;
	ch->intid = IVC_INTID0 + cfg->id;
	ch->pa = page_alloc(pages, PAGE_SIZE); /* zeroed */
	if (!ch->pa)
		return E_NOMEM;
	for (u32 k = 0; k < 2; k++) {
		r = arch_stage2_map_ram(vm[k], cfg->ipa, ch->pa, cfg->size);
		if (r) {
			/* Without an unmap, pages already mapped into a VM can never be given
			 * back: keep the region allocated (leaked) rather than hand it out again. */
			if (k == 0)
				page_free(ch->pa, pages);
			return r;
		}
	}
	for (u32 k = 0; k < 2; k++) {
		struct ivc_end *e = &ch->end[k];

		e->chan = ch;
		e->vm = vm[k];
		e->peer = vm[1 - k];
		e->role = k;
		memcpy(e->peer_name, vm[1 - k]->name, CFG_NAME_MAX);
		r = mmio_add(&vm[k]->mmio, db, CFG_CHAN_DOORBELL, &ivc_doorbell_ops, e);
		if (r) /* cannot happen: room_for() checked both tables */
			return r;
		vm[k]->ivc[vm[k]->nr_ivc++] = e;
	}
	return E_OK;
}

void ivc_vm_gone(struct vm *vm)
{
	for (u32 i = 0; i < vm->nr_ivc; i++) {
		struct ivc_end *e = vm->ivc[i];
		struct ivc_chan *ch = e->chan;
		struct ivc_end *other = &ch->end[1 - e->role];
		struct vm *survivor;

		spin_lock(&ch->lock);
		e->vm = e->peer = NULL;
		other->peer = NULL; /* no ring reaches vm (or its slot's next VM) from here on */
		survivor = other->vm;
		spin_unlock(&ch->lock);
		if (!survivor) {
			page_free(ch->pa, ch->cfg.size / PAGE_SIZE);
			ch->pa = 0;
			log_line("channel '%s': both its VMs destroyed; its %llu KiB region scrubbed "
				 "and returned to the hypervisor", ch->cfg.name,
				 (unsigned long long)(ch->cfg.size >> 10));
		} else {
			log_line("channel '%s': vm '%s' destroyed; vm '%s' keeps the region, its "
				 "doorbell rings nobody now", ch->cfg.name, vm->name, survivor->name);
		}
		vm->ivc[i] = NULL;
	}
	vm->nr_ivc = 0;
}
