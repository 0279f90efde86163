/* Control operations on existing VMs: what the hypervisor is and holds (hello, list, stats)
 * and the lifecycle verbs (start, stop, reboot, pause, unpause, destroy). Each checks the VM
 * and its state; the lifecycle itself is vm.c's. */
#include <bulkhead/arch.h>
#include <bulkhead/errno.h>
#include <bulkhead/log.h>
#include <bulkhead/palloc.h>
#include <bulkhead/pcpu.h>
#include <bulkhead/pool.h>
#include <bulkhead/string.h>
#include <bulkhead/virtio.h>
#include <bulkhead/vm.h>

#include "ctl_internal.h"

#define HYP_VERSION "0.1"

static u64 ticks_to_ns(u64 t)
{
	u64 hz = arch_counter_hz();

	return t / hz * 1000000000ULL + t % hz * 1000000000ULL / hz;
}

static u32 proto_state(const struct vm *vm)
{
	switch (vm->state) {
	case VM_RUNNING:
	case VM_RESETTING:
		return vm->paused ? BHC_VM_PAUSED : BHC_VM_RUNNING;
	case VM_STOPPED:
		return BHC_VM_CRASHED;
	default:
		return BHC_VM_OFF;
	}
}

void ctl_fill_info(const struct vm *vm, struct bhc_vm_info *info)
{
	u32 st = proto_state(vm);

	memset(info, 0, sizeof(*info));
	info->id = vm->id;
	info->state = st;
	info->flags = (vm->cfg.management ? BHC_VM_F_MANAGEMENT : 0) |
		      (vm->dynamic ? BHC_VM_F_DYNAMIC : 0);
	info->nr_vcpus = vm->nr_vcpus;
	memcpy(info->name, vm->name, BHC_NAME_MAX);
	info->ram_base = vm->ram_base;
	info->ram_size = vm->ram_size;
	if (st == BHC_VM_RUNNING || st == BHC_VM_PAUSED)
		info->uptime_ns = ticks_to_ns(arch_counter() - vm->booted_at);
	for (u32 i = 0; i < vm->nr_vcpus && i < BHC_MAX_VCPUS; i++) {
		const struct vcpu *v = &vm->vcpu[i];
		u64 run = v->run_ticks;

		info->pcpu[i] = v->pcpu;
		if (__atomic_load_n(&v->running, __ATOMIC_ACQUIRE))
			run += arch_counter() - v->loaded_at; /* approximate: it is running now */
		info->run_ns += ticks_to_ns(run);
		for (u32 k = 0; k < EXIT_KINDS && k < BHC_EXITS; k++)
			info->exits[k] += v->exits[k];
	}
}

int ctl_hello(struct ctl_req *r)
{
	struct bhc_hello h = { 0 };

	h.version = BHC_VERSION;
	h.nr_pcpus = nr_pcpus;
	h.max_vms = MAX_VMS;
	h.nr_vms = nr_vms;
	h.pool_total = pool_total_bytes();
	h.pool_free = pool_free_bytes();
	h.hyp_free = page_free_count() * PAGE_SIZE;
	memcpy(h.hyp_version, HYP_VERSION, sizeof(HYP_VERSION));
	memcpy(r->out, &h, sizeof(h));
	r->out_len = sizeof(h);
	return BHC_OK;
}

int ctl_list(struct ctl_req *r)
{
	u32 n = 0;
	struct bhc_vm_info info;

	for (u32 id = 0; id < MAX_VMS; id++) {
		struct vm *vm = vm_get(id);

		if (ctl_pending_is(id) && ctl_pending_info(&info)) {
			/* the VM being created: shown as LOADING */
		} else if (vm && vm->state != VM_DYING) {
			ctl_fill_info(vm, &info);
		} else {
			continue;
		}
		memcpy(r->out + 4 + n * sizeof(info), &info, sizeof(info));
		n++;
	}
	memcpy(r->out, &n, 4);
	r->out_len = 4 + n * (u32)sizeof(info);
	return BHC_OK;
}

/* "virtio-blk@1", "pl011", ... */
static void dev_name(const struct mmio_region *m, char *buf, size_t len)
{
	if (m->ops == &virtio_mmio_ops) {
		const struct virtio_dev *d = m->dev;

		snprintf(buf, len, "%s@%u", d->ops->name, d->slot);
	} else {
		snprintf(buf, len, "%s", m->ops->name);
	}
}

int ctl_stats(struct ctl_req *r)
{
	struct vm *vm = ctl_ref_vm(r);
	static struct bhc_vm_stats s;

	if (!vm)
		return r->ref_status;
	memset(&s, 0, sizeof(s));
	ctl_fill_info(vm, &s.info);
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		s.irqs_injected += vm->vcpu[i].irqs_injected;
	s.ctl_refused = vm->ctl_refused;
	s.mmio_unowned = vm->mmio_unowned;
	for (u32 i = 0; i < vm->mmio.count && s.nr_devs < BHC_MAX_DEVS; i++) {
		const struct mmio_region *m = &vm->mmio.r[i];

		dev_name(m, s.dev[s.nr_devs].name, sizeof(s.dev[0].name));
		for (u32 k = 0; k < vm->nr_vcpus; k++)
			s.dev[s.nr_devs].count += vm->vcpu[k].mmio_hits[i];
		s.nr_devs++;
	}
	memcpy(r->out, &s, sizeof(s));
	r->out_len = sizeof(s);
	return BHC_OK;
}

int ctl_net_stats(struct ctl_req *r)
{
	struct vm *vm = ctl_ref_vm(r);
	static struct bhc_net_stats s;

	if (!vm)
		return r->ref_status;
	memset(&s, 0, sizeof(s));
	for (u32 i = 0; i < vm->cfg.nr_nics && s.nr_nics < BHC_MAX_NICS; i++) {
		const struct vswitch_port *p = vm->net[i] ? &vm->net[i]->port : NULL;
		struct bhc_nic_stats *n = &s.nic[s.nr_nics++];

		snprintf(n->dev, sizeof(n->dev), "virtio-net@%u", vm->cfg.nic[i].slot);
		snprintf(n->sw, sizeof(n->sw), "%s", vm->cfg.nic[i].sw);
		memcpy(n->mac, vm->cfg.nic[i].mac, sizeof(n->mac));
		if (!p)
			continue;
		n->tx = __atomic_load_n(&p->tx, __ATOMIC_RELAXED);
		n->rx = __atomic_load_n(&p->rx, __ATOMIC_RELAXED);
		n->tx_bad = __atomic_load_n(&p->tx_bad, __ATOMIC_RELAXED);
		n->tx_limited = __atomic_load_n(&p->tx_limited, __ATOMIC_RELAXED);
		n->rx_dropped = __atomic_load_n(&p->rx_dropped, __ATOMIC_RELAXED);
	}
	memcpy(r->out, &s, sizeof(s));
	r->out_len = sizeof(s);
	return BHC_OK;
}

int ctl_blk_stats(struct ctl_req *r)
{
	struct vm *vm = ctl_ref_vm(r);
	static struct bhc_blk_stats s;

	if (!vm)
		return r->ref_status;
	memset(&s, 0, sizeof(s));
	for (u32 i = 0; i < vm->cfg.nr_disks && s.nr_disks < BHC_MAX_DISKS; i++) {
		struct virtio_blk *b = vm->blk[i];
		struct bhc_disk_stats *d = &s.disk[s.nr_disks++];

		snprintf(d->dev, sizeof(d->dev), "virtio-blk@%u", vm->cfg.disk[i].slot);
		d->mediated = vm->cfg.disk[i].mediated != NULL;
		if (!b)
			continue;
		spin_lock(&b->dev.lock); /* the counters move together */
		d->size = b->size;
		d->reads = b->reads;
		d->writes = b->writes;
		d->flushes = b->flushes;
		d->read_bytes = b->read_bytes;
		d->written_bytes = b->written_bytes;
		d->errors = b->errors;
		spin_unlock(&b->dev.lock);
	}
	memcpy(r->out, &s, sizeof(s));
	r->out_len = sizeof(s);
	return BHC_OK;
}

static const char *state_name(const struct vm *vm)
{
	static const char *const names[] = { "loading", "running", "paused", "off", "crashed" };

	return names[proto_state(vm)];
}

static int other_status; /* why other_vm() failed (the control lock serializes requests) */

/* The VM of the request, refused if it is the management VM itself. */
static struct vm *other_vm(struct ctl_req *r, const char *verb)
{
	struct vm *vm = ctl_ref_vm(r);

	other_status = r->ref_status;
	if (vm && vm == r->from) {
		other_status = ctl_fail(r, BHC_EBUSY, "the management VM cannot %s itself", verb);
		return NULL;
	}
	return vm;
}

/* The status for a failed other_vm(). */
static int no_vm(struct ctl_req *r)
{
	(void)r;
	return other_status;
}

static int state_error(struct ctl_req *r, const struct vm *vm, const char *verb)
{
	return ctl_fail(r, BHC_ESTATE, "cannot %s '%s': it is %s", verb, vm->name,
			state_name(vm));
}

int ctl_start(struct ctl_req *r)
{
	struct bhc_vm_ref ref;
	struct vm *vm;

	memcpy(&ref, r->data, sizeof(ref));
	if (ctl_pending_is(ref.id))
		return ctl_pending_start(r);
	vm = other_vm(r, "start");
	if (!vm)
		return no_vm(r);
	if (vm_boot(vm))
		return state_error(r, vm, "start");
	return BHC_OK;
}

int ctl_stop(struct ctl_req *r)
{
	struct vm *vm = other_vm(r, "stop");

	if (!vm)
		return no_vm(r);
	if (vm->state != VM_RUNNING || vm->paused)
		return state_error(r, vm, "stop");
	if (vm_power_button(vm))
		return state_error(r, vm, "stop");
	return BHC_OK;
}

int ctl_reboot(struct ctl_req *r)
{
	struct vm *vm = other_vm(r, "reboot");

	if (!vm)
		return no_vm(r);
	return vm_reboot(vm) ? state_error(r, vm, "reboot") : BHC_OK;
}

int ctl_pause(struct ctl_req *r)
{
	struct vm *vm = other_vm(r, "pause");

	if (!vm)
		return no_vm(r);
	if (vm_pause(vm))
		return state_error(r, vm, "pause");
	log_line("vm '%s': paused (control request)", vm->name);
	return BHC_OK;
}

int ctl_unpause(struct ctl_req *r)
{
	struct vm *vm = other_vm(r, "unpause");

	if (!vm)
		return no_vm(r);
	if (vm_unpause(vm))
		return state_error(r, vm, "unpause");
	log_line("vm '%s': unpaused (control request)", vm->name);
	return BHC_OK;
}

int ctl_destroy(struct ctl_req *r)
{
	struct bhc_vm_ref ref;
	struct vm *vm;
	int e;

	memcpy(&ref, r->data, sizeof(ref));
	if (ctl_pending_is(ref.id)) {
		ctl_pending_cancel("destroyed by a control request");
		return BHC_OK;
	}
	vm = other_vm(r, "destroy");
	if (!vm)
		return no_vm(r);
	e = vm_destroy(vm);
	return e ? state_error(r, vm, "destroy") : BHC_OK;
}
