/* Creating a VM at run time: BHC_CREATE checks the configuration with the boot-time parser plus
 * the rules of a running system (unique name and MACs, one VM, no channels, not management)
 * and stages it in the VM pool; BHC_LOAD streams each file into the staging area in order;
 * BHC_START creates the VM from the staged images (they stay, for reboots) and starts it. One
 * creation at a time; closing the control port or a new CREATE abandons an unfinished one. */
#include <bulkhead/arch.h>
#include <bulkhead/config.h>
#include <bulkhead/errno.h>
#include <bulkhead/log.h>
#include <bulkhead/palloc.h>
#include <bulkhead/pcpu.h>
#include <bulkhead/pool.h>
#include <bulkhead/string.h>
#include <bulkhead/vm.h>

#include "ctl_internal.h"

#define CONFIG_MAX KiB(48)
#define NR_BLOBS (BHC_BLOB_DISK0 + BHC_MAX_DISKS)

static struct {
	bool active;
	u32 id;    /* the slot it will take (creations are serialized: nothing else takes it) */
	u32 flags; /* BHC_CREATE_F_* */
	char file[64];
	struct cfg_vm cfg; /* strings point into the staged configuration */
	paddr_t pa;        /* staging area in the pool: configuration, then each file */
	u64 pages;
	u64 off[NR_BLOBS], size[NR_BLOBS], got[NR_BLOBS];
} pend;

static struct cfg_system sys;
static struct cfg_errors errs;

static u8 *staged(u64 off)
{
	return (u8 *)arch_phys_to_virt(pend.pa) + off;
}

void ctl_pending_cancel(const char *why)
{
	if (!pend.active)
		return;
	pool_free(pend.pa, pend.pages);
	pend.active = false;
	log_line("vm '%s': creation abandoned: %s", pend.cfg.name, why);
}

bool ctl_pending_is(u32 id)
{
	return pend.active && pend.id == id;
}

bool ctl_pending_info(struct bhc_vm_info *info)
{
	memset(info, 0, sizeof(*info));
	info->id = pend.id;
	info->state = BHC_VM_LOADING;
	info->flags = BHC_VM_F_DYNAMIC;
	info->nr_vcpus = pend.cfg.vcpus;
	memcpy(info->name, pend.cfg.name, BHC_NAME_MAX);
	for (u32 i = 0; i < pend.cfg.vcpus && i < BHC_MAX_VCPUS; i++)
		info->pcpu[i] = pend.cfg.pcpus[i];
	info->ram_base = pend.cfg.ram.base;
	info->ram_size = pend.cfg.ram.size;
	return pend.active;
}

/* One BHC_ECONFIG message line: "file: vm 'x': field 'f': reason". */
__attribute__((format(printf, 4, 5))) static int refuse(struct ctl_req *r, const char *file,
							 const char *field, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return ctl_fail(r, BHC_ECONFIG, "%s: vm '%s': field '%s': %s", file, sys.vm[0].name,
			field, why);
}

/* Parses the configuration; on errors their lines become the message. */
static int parse(struct ctl_req *r, const void *blob, u32 size, const char *file)
{
	struct cfg_limits lim = { .nr_pcpus = nr_pcpus };
	u32 at = 0;

	if (!config_parse(blob, size, file, &lim, &sys, &errs))
		return BHC_OK;
	r->msg[0] = '\0';
	for (u32 i = 0; i < errs.count && i < CFG_MAX_ERRORS && at + 2 < CTL_MSG_MAX; i++)
		at += (u32)snprintf(r->msg + at, CTL_MSG_MAX - at, "%s\n", errs.msg[i]);
	return BHC_ECONFIG;
}

/* The rules of a running system, beyond the file's own. */
static int check_system(struct ctl_req *r, const char *file)
{
	const struct cfg_vm *c = &sys.vm[0];

	if (sys.nr_vms != 1)
		return ctl_fail(r, BHC_ECONFIG, "%s: /vms: a VM created at run time is one VM "
				"(the file has %u)", file, sys.nr_vms);
	if (sys.nr_channels)
		return ctl_fail(r, BHC_ECONFIG, "%s: /channels: shared-memory channels exist only "
				"in the boot configuration", file);
	if (sys.pool_size)
		return ctl_fail(r, BHC_ECONFIG, "%s: /pool: the pool is set aside at boot", file);
	if (c->management)
		return refuse(r, file, "management", "only a boot-time VM can be the management VM");
	if (c->identity || c->nr_pt)
		return refuse(r, file, c->nr_pt ? "passthrough" : "identity-map",
			      "physical devices and identity-mapped RAM are given at boot only");
	for (u32 id = 0; id < MAX_VMS; id++) {
		const struct vm *vm = vm_get(id);

		if (!vm || vm->state == VM_DYING)
			continue;
		if (strcmp(vm->name, c->name) == 0)
			return refuse(r, file, "name", "VM %u already has this name", id);
		for (u32 i = 0; i < c->nr_nics; i++)
			for (u32 j = 0; j < vm->cfg.nr_nics; j++)
				if (memcmp(c->nic[i].mac, vm->cfg.nic[j].mac, 6) == 0)
					return refuse(r, file, "mac", "VM '%s' already uses this "
						      "address", vm->name);
	}
	return BHC_OK;
}

/* The files the configuration names must come with sizes that fit; returns BHC_OK. */
static int check_sizes(struct ctl_req *r, const struct bhc_create *c, const char *file)
{
	const struct cfg_vm *v = &sys.vm[0];

	if (!c->image_size || c->image_size > v->ram.size)
		return refuse(r, file, "image", "%llu bytes: empty or larger than the VM's memory",
			      (unsigned long long)c->image_size);
	if (!v->initrd != !c->initrd_size || c->initrd_size > v->ram.size)
		return refuse(r, file, "initrd", "%llu bytes do not match the configuration",
			      (unsigned long long)c->initrd_size);
	if (!v->dtb != !c->dtb_size || c->dtb_size > CFG_DTB_MAX)
		return refuse(r, file, "dtb", "%llu bytes do not match the configuration",
			      (unsigned long long)c->dtb_size);
	for (u32 i = 0; i < BHC_MAX_DISKS; i++) {
		bool want = i < v->nr_disks && v->disk[i].image;

		if (want != !!c->disk_size[i] || c->disk_size[i] > CFG_DISK_MAX)
			return refuse(r, file, "virtio-blk/image", "disk %u: %llu bytes do not "
				      "match the configuration", i,
				      (unsigned long long)c->disk_size[i]);
	}
	return BHC_OK;
}

/* Lays out the staging area: configuration first, then each file, page aligned. */
static u64 layout(const struct bhc_create *c)
{
	u64 at = ALIGN_UP((u64)c->config_size, PAGE_SIZE);

	memset(pend.size, 0, sizeof(pend.size));
	memset(pend.got, 0, sizeof(pend.got));
	pend.size[BHC_BLOB_IMAGE] = c->image_size;
	pend.size[BHC_BLOB_INITRD] = c->initrd_size;
	pend.size[BHC_BLOB_DTB] = c->dtb_size;
	for (u32 i = 0; i < BHC_MAX_DISKS; i++)
		pend.size[BHC_BLOB_DISK0 + i] = c->disk_size[i];
	for (u32 b = 0; b < NR_BLOBS; b++) {
		pend.off[b] = at;
		at += ALIGN_UP(pend.size[b], PAGE_SIZE);
	}
	return at / PAGE_SIZE;
}

static int free_slot(void)
{
	for (u32 id = 0; id < MAX_VMS; id++)
		if (!vm_get(id))
			return (int)id;
	return -1;
}

int ctl_create(struct ctl_req *r)
{
	struct bhc_create c;
	const u8 *blob = r->data + sizeof(c);
	u64 need;
	int st, slot;

	memcpy(&c, r->data, sizeof(c));
	c.file[sizeof(c.file) - 1] = '\0';
	if (!c.file[0])
		memcpy(c.file, "config", 7);
	ctl_pending_cancel("replaced by a new creation");
	if (c.config_size != r->len - sizeof(c) || c.config_size > CONFIG_MAX)
		return ctl_fail(r, BHC_EPROTO, "configuration of %u bytes in a payload of %u "
				"(at most %llu)", c.config_size, r->len,
				(unsigned long long)CONFIG_MAX);
	st = parse(r, blob, c.config_size, c.file);
	if (!st)
		st = check_system(r, c.file);
	if (!st)
		st = check_sizes(r, &c, c.file);
	if (st)
		return st;
	slot = free_slot();
	if (slot < 0)
		return ctl_fail(r, BHC_EFULL, "no VM slot left (at most %u VMs)", MAX_VMS);
	pend.pages = layout(&c);
	need = pend.pages * PAGE_SIZE + sys.vm[0].ram.size;
	if (need > pool_free_bytes())
		return ctl_fail(r, BHC_ENOMEM, "%s: vm '%s': needs %llu MiB of the VM pool (RAM and "
				"images), %llu MiB are free", c.file, sys.vm[0].name,
				(unsigned long long)(need >> 20),
				(unsigned long long)(pool_free_bytes() >> 20));
	pend.pa = pool_alloc(pend.pages, PAGE_SIZE);
	if (!pend.pa)
		return ctl_fail(r, BHC_ENOMEM, "the VM pool has no %llu contiguous MiB free",
				(unsigned long long)((pend.pages * PAGE_SIZE) >> 20));
	memcpy(staged(0), blob, c.config_size);
	parse(r, staged(0), c.config_size, c.file); /* the same again: strings point here now */
	pend.cfg = sys.vm[0];
	pend.id = (u32)slot;
	pend.flags = c.flags;
	memcpy(pend.file, c.file, sizeof(pend.file));
	pend.active = true;
	log_line("vm '%s': being created by the management VM (id %u, %llu KiB of files)",
		 pend.cfg.name, pend.id,
		 (unsigned long long)((pend.pages * PAGE_SIZE - pend.off[0]) >> 10));
	struct bhc_vm_ref ref = { pend.id, 0 };
	memcpy(r->out, &ref, sizeof(ref));
	r->out_len = sizeof(ref);
	return BHC_OK;
}

int ctl_load(struct ctl_req *r)
{
	struct bhc_load l;
	u32 n = r->len - (u32)sizeof(l);

	memcpy(&l, r->data, sizeof(l));
	if (!ctl_pending_is(l.id)) {
		const struct vm *vm = vm_get(l.id);

		if (vm && vm->state != VM_DYING) /* it exists: its state is the reason */
			return ctl_fail(r, BHC_ESTATE, "'%s' is not being created: only a loading VM "
					"takes LOAD", vm->name);
		return ctl_fail(r, BHC_ENOENT, "VM %u is not being created", l.id);
	}
	if (l.blob >= NR_BLOBS || !pend.size[l.blob])
		return ctl_fail(r, BHC_ERANGE, "file %u was not declared by CREATE", l.blob);
	if (l.offset != pend.got[l.blob] || n > pend.size[l.blob] - pend.got[l.blob])
		return ctl_fail(r, BHC_ERANGE, "file %u: %u bytes at %llu, expected the next at %llu "
				"of %llu", l.blob, n, (unsigned long long)l.offset,
				(unsigned long long)pend.got[l.blob],
				(unsigned long long)pend.size[l.blob]);
	memcpy(staged(pend.off[l.blob] + l.offset), r->data + sizeof(l), n);
	pend.got[l.blob] += n;
	return BHC_OK;
}

static const u8 *blob_ptr(u32 b, u64 *size)
{
	*size = pend.size[b];
	return pend.size[b] ? staged(pend.off[b]) : NULL;
}

int ctl_pending_start(struct ctl_req *r)
{
	struct vm_images img;
	struct vm *vm;
	int e;

	for (u32 b = 0; b < NR_BLOBS; b++)
		if (pend.got[b] != pend.size[b])
			return ctl_fail(r, BHC_ESTATE, "'%s': file %u has %llu of %llu bytes",
					pend.cfg.name, b, (unsigned long long)pend.got[b],
					(unsigned long long)pend.size[b]);
	memset(&img, 0, sizeof(img));
	img.image = blob_ptr(BHC_BLOB_IMAGE, &img.image_size);
	img.initrd = blob_ptr(BHC_BLOB_INITRD, &img.initrd_size);
	img.dtb = blob_ptr(BHC_BLOB_DTB, &img.dtb_size);
	for (u32 i = 0; i < BHC_MAX_DISKS && i < CFG_MAX_VIRTIO; i++)
		img.disk[i] = blob_ptr(BHC_BLOB_DISK0 + i, &img.disk_size[i]);
	img.dynamic = true;
	img.staging_pa = pend.pa;
	img.staging_pages = pend.pages;
	img.slot_hint = pend.id + 1; /* the id CREATE answered, even if a lower one freed since */
	e = vm_create(&pend.cfg, &img, &vm);
	if (e) {
		int st = e == E_NOMEM ? BHC_ENOMEM : e == E_FULL ? BHC_EFULL : BHC_ECONFIG;
		const char *why = e == E_NOMEM ? "not enough memory in the VM pool"
				  : e == E_RANGE ? "field 'pcpus': no room on those physical CPUs"
						 : err_str(e);

		ctl_fail(r, st, "%s: vm '%s': not created: %s (the console has details)", pend.file,
			 pend.cfg.name, why);
		ctl_pending_cancel(why);
		return st;
	}
	pend.active = false; /* the staging area is the VM's now */
	if (pend.flags & BHC_CREATE_F_PAUSED)
		vm->paused = true;
	log_line("vm %u '%s': created by the management VM: %u vCPU%s, %lu MiB RAM from the VM "
		 "pool%s", vm->id, vm->name, vm->nr_vcpus, vm->nr_vcpus > 1 ? "s" : "",
		 vm->ram_size >> 20, vm->paused ? ", paused" : "");
	vm_start(vm);
	return BHC_OK;
}
