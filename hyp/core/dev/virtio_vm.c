/* A VM's virtio devices: created with the VM from its configuration (a disk's memory comes from
 * the page allocator, filled from its image in the package), mapped at their slots, reset; and
 * the named ports hypervisor code adds to a VM's virtio-console. */
#include <bulkhead/arch.h>
#include <bulkhead/blk_mediated.h>
#include <bulkhead/errno.h>
#include <bulkhead/log.h>
#include <bulkhead/palloc.h>
#include <bulkhead/string.h>
#include <bulkhead/virtio.h>
#include <bulkhead/virtio_console.h>
#include <bulkhead/vm.h>

#define DEV_PAGES (ALIGN_UP(sizeof(struct virtio_blk), PAGE_SIZE) / PAGE_SIZE)
_Static_assert(sizeof(struct virtio_blk) <= 2 * PAGE_SIZE && sizeof(struct virtio_net) <= PAGE_SIZE,
	       "a disk's device state takes two pages, a port's one (queues included)");

static u64 disk_pages(const struct virtio_blk *b)
{
	return ALIGN_UP(b->size, PAGE_SIZE) / PAGE_SIZE;
}

static void blk_free(struct vm *vm, struct virtio_blk *b)
{
	blk_med_destroy(vm, b);
	if (b->disk_pa)
		vm_free_pages(vm, b->disk_pa, disk_pages(b));
	vm_free_pages(vm, b->pa, DEV_PAGES);
}

#define NET_PAGES (ALIGN_UP(sizeof(struct virtio_net), PAGE_SIZE) / PAGE_SIZE)
#define VCON_PAGES (ALIGN_UP(sizeof(struct virtio_console), PAGE_SIZE) / PAGE_SIZE)
#define VCON_BUF_PAGES (VCON_PORT_BUF / PAGE_SIZE)

/* The console and its named ports' buffers. */
static void vcon_free(struct vm *vm, struct virtio_console *c)
{
	for (u32 i = 1; i < VCON_MAX_PORTS; i++)
		if (c->port[i].buf_pa)
			vm_free_pages(vm, c->port[i].buf_pa, VCON_BUF_PAGES);
	vm_free_pages(vm, c->pa, VCON_PAGES);
}

static void destroy_all(struct vm *vm)
{
	for (u32 i = 0; i < CFG_MAX_VIRTIO; i++) {
		if (vm->blk[i])
			blk_free(vm, vm->blk[i]);
		vm->blk[i] = NULL;
		if (vm->net[i])
			vm_free_pages(vm, vm->net[i]->pa, NET_PAGES);
		vm->net[i] = NULL;
	}
	if (vm->vcon)
		vcon_free(vm, vm->vcon);
	vm->vcon = NULL;
}

/* Allocates the virtio-console and maps its transport. */
static int vcon_create(struct vm *vm, const struct guest_ram *ram)
{
	paddr_t pa = vm_alloc_pages(vm, VCON_PAGES, PAGE_SIZE);
	struct virtio_console *c = pa ? arch_phys_to_virt(pa) : NULL;

	if (!c)
		return E_NOMEM;
	vm->vcon = c;
	c->pa = pa;
	virtio_console_init(c, vm, vm->name, vm->cfg.vcon_slot, ram);
	return mmio_add(&vm->mmio, CFG_VIRTIO_BASE + vm->cfg.vcon_slot * CFG_VIRTIO_STRIDE,
			VIRTIO_MMIO_SIZE, &virtio_mmio_ops, &c->dev);
}

struct vcon_port *vcon_add_port(struct vm *vm, const char *name, const struct vcon_port_ops *ops,
				void *ctx)
{
	paddr_t pa = vm->vcon ? vm_alloc_pages(vm, VCON_BUF_PAGES, PAGE_SIZE) : 0;
	struct vcon_port *p;

	if (!pa)
		return NULL;
	p = virtio_console_add_port(vm->vcon, name, ops, ctx, arch_phys_to_virt(pa),
				    VCON_PORT_BUF, pa);
	if (!p) {
		vm_free_pages(vm, pa, VCON_BUF_PAGES);
		return NULL;
	}
	log_line("vm '%s': virtio-console@%u: port %u '%s'", vm->name, vm->cfg.vcon_slot, p->id,
		 p->name);
	return p;
}

/* Allocates port i's device and maps its transport (attached to its switch later). */
static int net_create(struct vm *vm, u32 i, const struct guest_ram *ram)
{
	const struct cfg_nic *c = &vm->cfg.nic[i];
	paddr_t pa = vm_alloc_pages(vm, NET_PAGES, PAGE_SIZE);
	struct virtio_net *n = pa ? arch_phys_to_virt(pa) : NULL;

	if (!n)
		return E_NOMEM;
	vm->net[i] = n;
	n->pa = pa;
	virtio_net_init(n, vm, c->slot, ram, c->mac);
	return mmio_add(&vm->mmio, CFG_VIRTIO_BASE + c->slot * CFG_VIRTIO_STRIDE,
			VIRTIO_MMIO_SIZE, &virtio_mmio_ops, &n->dev);
}

/* Attaches port i to its switch (created on first use) and says so:
 * "vm 'x': virtio-net@1 at 0xa000200 (INTID 49): 52:54:00:12:34:01 on switch 'lan0'". A port
 * left without a switch (too many switches or ports) drops what it sends. */
static void net_attach(struct vm *vm, u32 i)
{
	const struct cfg_nic *c = &vm->cfg.nic[i];
	struct vswitch *sw = vswitch_get(c->sw);
	const u8 *m = c->mac;
	int r = sw ? vswitch_attach(sw, &vm->net[i]->port) : E_FULL;

	log_line("vm '%s': virtio-net@%u at 0x%llx (INTID %u): %02x:%02x:%02x:%02x:%02x:%02x "
		 "on switch '%s'%s", vm->name, c->slot,
		 (unsigned long long)(CFG_VIRTIO_BASE + c->slot * CFG_VIRTIO_STRIDE),
		 vm->net[i]->dev.intid, m[0], m[1], m[2], m[3], m[4], m[5], c->sw,
		 r ? " (not attached: too many switches or ports)" : "");
}

/* The disk's size: configured, or its image's rounded up to a sector. 0 if it does not fit. */
static u64 disk_size(const struct vm *vm, u32 i)
{
	const struct cfg_disk *d = &vm->cfg.disk[i];
	u64 img = vm->img.disk_size[i];
	u64 size = d->size ? d->size : ALIGN_UP(img, CFG_SECTOR);

	if (!size || size > CFG_DISK_MAX || img > size) {
		log_line("vm '%s': field 'virtio-blk@%u/image': %llu bytes do not fit the disk "
			 "(%llu bytes, at most 1 GiB)", vm->name, d->slot, (unsigned long long)img,
			 (unsigned long long)size);
		return 0;
	}
	return size;
}

/* Allocates and fills disk i and its device, and maps its transport. */
static int blk_create(struct vm *vm, u32 i, const struct guest_ram *ram)
{
	const struct cfg_disk *d = &vm->cfg.disk[i];
	u64 size = disk_size(vm, i);
	paddr_t dev = size ? vm_alloc_pages(vm, DEV_PAGES, PAGE_SIZE) : 0;
	struct virtio_blk *b = dev ? arch_phys_to_virt(dev) : NULL;
	paddr_t disk;

	if (!size)
		return E_INVAL;
	if (!b)
		return E_NOMEM;
	vm->blk[i] = b;
	b->pa = dev;
	b->size = size;
	if (d->mediated) { /* its blocks are a file's in the management VM */
		virtio_blk_init(b, vm, vm->name, d->slot, ram, NULL, size);
		if (blk_med_create(vm, b, i, d->mediated))
			return E_NOMEM;
		return mmio_add(&vm->mmio, CFG_VIRTIO_BASE + d->slot * CFG_VIRTIO_STRIDE,
				VIRTIO_MMIO_SIZE, &virtio_mmio_ops, &b->dev);
	}
	disk = vm_alloc_pages(vm, disk_pages(b), PAGE_SIZE);
	if (!disk)
		return E_NOMEM;
	b->disk_pa = disk;
	virtio_blk_init(b, vm, vm->name, d->slot, ram, arch_phys_to_virt(disk), size);
	if (vm->img.disk[i])
		memcpy(b->disk, vm->img.disk[i], vm->img.disk_size[i]); /* the rest is zeroed */
	return mmio_add(&vm->mmio, CFG_VIRTIO_BASE + d->slot * CFG_VIRTIO_STRIDE,
			VIRTIO_MMIO_SIZE, &virtio_mmio_ops, &b->dev);
}

/* "vm 'x': virtio-blk@0 at 0xa000000 (INTID 48): 16384 KiB, empty" (or "from <image>") */
static void describe(const struct vm *vm, u32 i)
{
	const struct cfg_disk *d = &vm->cfg.disk[i];

	log_line("vm '%s': virtio-blk@%u at 0x%llx (INTID %u): %llu KiB, %s%s", vm->name, d->slot,
		 (unsigned long long)(CFG_VIRTIO_BASE + d->slot * CFG_VIRTIO_STRIDE),
		 vm->blk[i]->dev.intid, (unsigned long long)(vm->blk[i]->size >> 10),
		 d->mediated ? "mediated: the management VM's " : d->image ? "from " : "empty",
		 d->mediated ? d->mediated : d->image ? d->image : "");
}

int virtio_vm_create(struct vm *vm)
{
	struct guest_ram ram = { arch_phys_to_virt(vm->ram_pa), vm->ram_base, vm->ram_size };
	int r;

	for (u32 i = 0; i < vm->cfg.nr_disks; i++) {
		r = blk_create(vm, i, &ram);
		if (r) {
			destroy_all(vm);
			return r;
		}
	}
	for (u32 i = 0; i < vm->cfg.nr_nics; i++) {
		r = net_create(vm, i, &ram);
		if (r) {
			destroy_all(vm);
			return r;
		}
	}
	r = vm->cfg.nr_vcons ? vcon_create(vm, &ram) : E_OK;
	if (r) {
		destroy_all(vm);
		return r;
	}
	for (u32 i = 0; i < vm->cfg.nr_disks; i++)
		describe(vm, i);
	for (u32 i = 0; i < vm->cfg.nr_nics; i++)
		net_attach(vm, i);
	if (vm->vcon)
		log_line("vm '%s': virtio-console@%u at 0x%llx (INTID %u): console on port 0, "
			 "input there once the guest opens it", vm->name, vm->cfg.vcon_slot,
			 (unsigned long long)(CFG_VIRTIO_BASE + vm->cfg.vcon_slot *
					      CFG_VIRTIO_STRIDE), vm->vcon->dev.intid);
	return E_OK;
}

void virtio_vm_reset(struct vm *vm)
{
	for (u32 i = 0; i < CFG_MAX_VIRTIO; i++) {
		if (vm->blk[i])
			virtio_dev_reset(&vm->blk[i]->dev);
		if (vm->net[i])
			virtio_dev_reset(&vm->net[i]->dev);
	}
	if (vm->vcon)
		virtio_dev_reset(&vm->vcon->dev);
}

void virtio_vm_destroy(struct vm *vm)
{
	for (u32 i = 0; i < CFG_MAX_VIRTIO; i++)
		if (vm->net[i])
			vswitch_detach(&vm->net[i]->port);
	destroy_all(vm);
}
