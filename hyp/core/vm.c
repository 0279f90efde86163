/* VM lifecycle: creation from a validated configuration (all or nothing), start, and the
 * VM-wide stops a guest can ask for (power off, reset) or cause (an error we cannot reflect).
 * A VM-wide operation parks the calling vCPU first, then waits for the VM's other vCPUs to
 * leave their CPUs, so it never races with the guest's own execution. */
#include <bulkhead/arch.h>
#include <bulkhead/console.h>
#include <bulkhead/ctl.h>
#include <bulkhead/errno.h>
#include <bulkhead/image.h>
#include <bulkhead/ivc.h>
#include <bulkhead/log.h>
#include <bulkhead/palloc.h>
#include <bulkhead/pool.h>
#include <bulkhead/pcpu.h>
#include <bulkhead/sched.h>
#include <bulkhead/string.h>
#include <bulkhead/virtio.h>
#include <bulkhead/vm.h>

#define FAULT_REPORTS_MAX 20
#define RESET_WINDOW_S 10 /* a guest resetting in a loop: at most RESET_LINES_MAX lines ... */
#define RESET_LINES_MAX 5 /* ... about its resets per window of this many seconds */

struct vm vms[MAX_VMS];
u32 nr_vms;
static spinlock_t slots_lock = SPINLOCK_INIT; /* vms[].used */

struct vm *vm_get(u32 id)
{
	return id < MAX_VMS && __atomic_load_n(&vms[id].used, __ATOMIC_ACQUIRE) ? &vms[id] : NULL;
}

paddr_t vm_alloc_pages(const struct vm *vm, u64 npages, u64 align)
{
	return vm->dynamic ? pool_alloc(npages, align) : page_alloc(npages, align);
}

void vm_free_pages(const struct vm *vm, paddr_t pa, u64 npages)
{
	if (vm->dynamic)
		pool_free(pa, npages);
	else
		page_free(pa, npages);
}

static bool slot_free(u32 i)
{
	return !vms[i].used && vms[i].state != VM_DYING;
}

/* Takes slot `want` if it is free (the id the control service told the management VM at
 * CREATE), else the lowest free slot (cleared), or NULL. */
static struct vm *slot_take(u32 want)
{
	struct vm *vm = NULL;

	spin_lock(&slots_lock);
	for (u32 n = 0; n < MAX_VMS; n++) {
		u32 i = want < MAX_VMS && slot_free(want) ? want : n;

		if (!slot_free(i))
			continue;
		memset(&vms[i], 0, sizeof(vms[i]));
		vms[i].id = i;
		vms[i].state = VM_DYING; /* reserved until created or given back */
		vm = &vms[i];
		break;
	}
	spin_unlock(&slots_lock);
	return vm;
}

static void slot_give_back(struct vm *vm, bool was_used)
{
	spin_lock(&slots_lock);
	if (was_used)
		nr_vms--;
	__atomic_store_n(&vm->used, false, __ATOMIC_RELEASE);
	vm->state = VM_OFF;
	spin_unlock(&slots_lock);
}

/* Every MMIO region a VM can have: GIC distributor and redistributors, PL011, PL061, its
 * virtio transports and channel doorbells. */
_Static_assert(4 + CFG_MAX_VIRTIO + CFG_MAX_CHANNELS <= VM_MAX_MMIO, "room in the MMIO table");

#define DTB_ROOM KiB(64) /* room for the generated device tree, at the top of RAM */

static void *guest_ptr(const struct vm *vm, gpa_t ipa)
{
	return arch_phys_to_virt(vm->ram_pa + (ipa - vm->ram_base));
}

/* Decides where the image, the initrd and the device tree go: the image where its header (or
 * the flat-binary rule) says, the device tree at the top of RAM, the initrd just below it.
 * Returns NULL or why they do not fit. */
static const char *place_images(struct vm *vm)
{
	const struct vm_images *im = &vm->img;
	struct image_place place;
	const char *why = image_place(im->image, im->image_size, vm->ram_size, &place);
	u64 dtb_room = im->dtb ? ALIGN_UP(im->dtb_size, PAGE_SIZE) : DTB_ROOM;
	u64 top = vm->ram_size - dtb_room; /* offsets from the RAM base */

	if (why)
		return why;
	if (dtb_room >= vm->ram_size || place.offset + place.span > top)
		return "image and device tree do not fit in the VM's RAM";
	vm->load_addr = vm->ram_base + place.offset;
	vm->dtb_addr = vm->ram_base + top;
	if (im->initrd) {
		u64 end = place.offset + place.span;

		if (im->initrd_size > top - end ||
		    ALIGN_DOWN(top - im->initrd_size, PAGE_SIZE) < end)
			return "image, initrd and device tree do not fit in the VM's RAM";
		vm->initrd_addr = vm->ram_base + ALIGN_DOWN(top - im->initrd_size, PAGE_SIZE);
	}
	return NULL;
}

void vm_write_dtb(struct vm *vm)
{
	if (vm->img.dtb)
		memcpy(guest_ptr(vm, vm->dtb_addr), vm->img.dtb, vm->img.dtb_size);
	else if (!arch_vm_build_dtb(vm, guest_ptr(vm, vm->dtb_addr), (u32)DTB_ROOM))
		log_line("vm '%s': device tree does not fit in %lu KiB", vm->name, DTB_ROOM >> 10);
}

/* Copies the images into RAM and writes the device tree (at creation and at every reset). */
static void load_images(struct vm *vm)
{
	const struct vm_images *im = &vm->img;

	memcpy(guest_ptr(vm, vm->load_addr), im->image, im->image_size);
	if (im->initrd)
		memcpy(guest_ptr(vm, vm->initrd_addr), im->initrd, im->initrd_size);
	vm_write_dtb(vm);
}

static bool pcpus_have_room(const struct cfg_vm *cfg)
{
	u32 need[MAX_CPUS] = { 0 };

	if (cfg->vcpus > CFG_MAX_VCPUS)
		return false;
	for (u32 i = 0; i < cfg->vcpus; i++) {
		u32 c = cfg->pcpus[i];

		if (c >= nr_pcpus || pcpus[c].nr_vcpus + ++need[c] > PCPU_MAX_VCPUS)
			return false;
	}
	return true;
}

static void vcpus_init(struct vm *vm)
{
	vm->nr_vcpus = vm->cfg.vcpus;
	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];

		v->vm = vm;
		v->id = i;
		v->pcpu = vm->cfg.pcpus[i];
		v->priority = vm->cfg.priority;
		v->state = VCPU_OFF;
		arch_vcpu_reset(v, 0, 0);
		sched_add(v);
	}
}

/* The VM's RAM: anywhere (2 MiB aligned), or exactly at its guest-physical address if it is
 * identity-mapped (a DMA-capable passed-through device uses guest-physical addresses). */
static int alloc_ram(struct vm *vm)
{
	paddr_t taken;

	if (!vm->cfg.identity) {
		vm->ram_pa = vm_alloc_pages(vm, vm->ram_size / PAGE_SIZE, CFG_RAM_ALIGN);
		return vm->ram_pa ? E_OK : E_NOMEM;
	}
	vm->ram_pa = page_alloc_at(vm->ram_base, vm->ram_size / PAGE_SIZE, &taken);
	if (vm->ram_pa)
		return E_OK;
	if (taken)
		log_line("vm '%s': field 'memory': identity-mapped RAM 0x%lx..0x%lx: physical page "
			 "0x%lx is already in use (by the hypervisor or another VM)", vm->name,
			 vm->ram_base, vm->ram_base + vm->ram_size, taken);
	else
		log_line("vm '%s': field 'memory': identity-mapped RAM 0x%lx..0x%lx is not all "
			 "in the memory the hypervisor manages", vm->name, vm->ram_base,
			 vm->ram_base + vm->ram_size);
	return E_BUSY;
}

/* Maps each passed-through device's pages at their own address. */
static int map_passthrough(struct vm *vm)
{
	for (u32 n = 0; n < vm->cfg.nr_pt; n++)
		for (u32 k = 0; k < vm->cfg.pt[n].nr_regs; k++) {
			u64 base, size;
			int r;

			cfg_pt_pages(&vm->cfg.pt[n].reg[k], &base, &size);
			r = arch_stage2_map_device(vm, base, base, size);
			if (r)
				return r;
		}
	return E_OK;
}

int vm_create(const struct cfg_vm *cfg, const struct vm_images *img, struct vm **out)
{
	struct vm *vm;
	const char *why;
	int r;

	if (!pcpus_have_room(cfg))
		return E_RANGE;
	vm = slot_take(img->slot_hint ? img->slot_hint - 1 : MAX_VMS);
	if (!vm)
		return E_FULL;
	vm->cfg = *cfg;
	memcpy(vm->name, cfg->name, CFG_NAME_MAX);
	vm->ram_base = cfg->ram.base;
	vm->ram_size = cfg->ram.size;
	vm->img = *img;
	vm->dynamic = img->dynamic;
	why = place_images(vm);
	if (why) {
		log_line("vm '%s': field 'image': %s", cfg->name, why);
		r = E_INVAL;
		goto free_slot;
	}
	r = alloc_ram(vm);
	if (r)
		goto free_slot;
	r = arch_vm_init(vm);
	if (r)
		goto free_ram;
	r = arch_stage2_map_ram(vm, vm->ram_base, vm->ram_pa, vm->ram_size);
	if (!r)
		r = map_passthrough(vm);
	if (r)
		goto free_s2;
	vuart_init(&vm->uart, vm, VUART_DEFAULT_INTID);
	vgpio_init(&vm->gpio, vm, VGPIO_INTID);
	r = mmio_add(&vm->mmio, cfg->pl011.base, cfg->pl011.size, &vuart_pl011_ops, &vm->uart);
	if (!r)
		r = mmio_add(&vm->mmio, VGPIO_BASE, VGPIO_SIZE, &vgpio_pl061_ops, &vm->gpio);
	if (!r)
		r = virtio_vm_create(vm); /* all or nothing */
	if (r)
		goto free_s2;
	vm->state = VM_OFF;
	vcpus_init(vm);
	arch_vm_passthrough_claim(vm); /* last: it cannot fail, and nothing undoes it */
	load_images(vm);
	ctl_vm_created(vm);
	spin_lock(&slots_lock);
	nr_vms++;
	__atomic_store_n(&vm->used, true, __ATOMIC_RELEASE);
	spin_unlock(&slots_lock);
	*out = vm;
	return E_OK;

free_s2:
	arch_vm_destroy(vm);
free_ram:
	vm_free_pages(vm, vm->ram_pa, vm->ram_size / PAGE_SIZE);
free_slot:
	slot_give_back(vm, false);
	return r;
}

/* Marks vCPU 0 to boot from the image's entry point. Caller holds vm->lock. */
static void boot_vcpu0(struct vm *vm)
{
	struct vcpu *v = &vm->vcpu[0];

	v->boot_entry = vm->load_addr;
	v->boot_arg = vm->dtb_addr; /* the Linux boot protocol: x0 = device tree */
	__atomic_store_n(&v->boot_pending, true, __ATOMIC_RELEASE);
	__atomic_store_n(&v->state, VCPU_RUNNABLE, __ATOMIC_RELEASE);
	vm->state = VM_RUNNING;
	vm->booted_at = arch_counter();
}

void vm_start(struct vm *vm)
{
	spin_lock(&vm->lock);
	boot_vcpu0(vm);
	spin_unlock(&vm->lock);
	sched_poke(vm->vcpu[0].pcpu);
}

/* Marks every vCPU of the VM off (vm->lock held). */
static void vcpus_off(struct vm *vm)
{
	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];

		__atomic_store_n(&v->state, VCPU_OFF, __ATOMIC_RELEASE);
		v->on_pending = false;
		__atomic_store_n(&v->boot_pending, false, __ATOMIC_RELEASE);
	}
}

/* Makes the VM's CPUs look at their vCPUs and waits until none of them is loaded. */
static void wait_unloaded(struct vm *vm)
{
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		sched_poke(vm->vcpu[i].pcpu);
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		while (__atomic_load_n(&vm->vcpu[i].running, __ATOMIC_ACQUIRE))
			arch_cpu_relax();
	arch_vm_passthrough_stop(vm); /* no physical SPI left active or pending for it */
}

/* Stops every vCPU of the VM and waits until none is loaded on a CPU. Returns false if the
 * VM was not running (another vCPU got there first). The caller has parked itself, or is
 * not one of the VM's vCPUs. */
static bool stop_vcpus(struct vm *vm, u32 new_state)
{
	spin_lock(&vm->lock);
	if (vm->state != VM_RUNNING) {
		spin_unlock(&vm->lock);
		return false;
	}
	vm->state = new_state;
	vm->paused = false;
	vcpus_off(vm);
	spin_unlock(&vm->lock);
	wait_unloaded(vm);
	vuart_flush(&vm->uart);
	return true;
}

void vm_power_off(struct vcpu *caller)
{
	struct vm *vm = caller->vm;

	sched_park_current();
	if (stop_vcpus(vm, VM_OFF))
		log_line("vm '%s': powered off (PSCI SYSTEM_OFF)", vm->name);
}

/* Boots a stopped VM (state VM_RESETTING, no vCPU loaded) again from its images. */
static void restart(struct vm *vm)
{
	arch_vm_reset(vm);
	virtio_vm_reset(vm); /* disks keep their contents, as across a reboot */
	vgpio_reset(&vm->gpio); /* a held power button is released */
	/* a fresh boot gets fresh fault reports, unless the guest resets itself in a loop (its
	 * reset lines are held back, report_reset()): then they wait for the next window too */
	if (vm->resets_in_window <= RESET_LINES_MAX)
		vm->fault_reports = 0;
	load_images(vm); /* the rest of RAM keeps its contents, as after a warm reset */
	spin_lock(&vm->lock);
	boot_vcpu0(vm);
	spin_unlock(&vm->lock);
	sched_poke(vm->vcpu[0].pcpu);
}

/* Says that the guest reset itself, unless it does so in a loop: then RESET_LINES_MAX lines a
 * window, one saying further ones are not shown, and how many were not, when the next window
 * starts (the console is shared: a crash-looping VM must not drown the others' lines). Only
 * the resetting vCPU runs this (its VM is stopped), so the fields need no lock. */
static void report_reset(struct vm *vm)
{
	u64 now = arch_counter(), window = RESET_WINDOW_S * arch_counter_hz();

	if (!vm->reset_window || now - vm->reset_window >= window) {
		if (vm->resets_hidden)
			log_line("vm '%s': %u more resets (PSCI SYSTEM_RESET) were not shown", vm->name,
				 vm->resets_hidden);
		vm->reset_window = now ? now : 1;
		vm->resets_in_window = vm->resets_hidden = 0;
	}
	if (++vm->resets_in_window <= RESET_LINES_MAX) {
		log_line("vm '%s': reset (PSCI SYSTEM_RESET): rebooting from its image", vm->name);
		if (vm->resets_in_window == RESET_LINES_MAX)
			log_line("vm '%s': %u resets in %u s: further ones in this %u s are not shown",
				 vm->name, RESET_LINES_MAX,
				 (u32)((now - vm->reset_window) / arch_counter_hz()), RESET_WINDOW_S);
		return;
	}
	vm->resets_hidden++;
}

void vm_reset(struct vcpu *caller)
{
	struct vm *vm = caller->vm;

	sched_park_current();
	if (!stop_vcpus(vm, VM_RESETTING))
		return;
	report_reset(vm);
	restart(vm);
}

int vm_reboot(struct vm *vm)
{
	if (!stop_vcpus(vm, VM_RESETTING))
		return E_STATE;
	log_line("vm '%s': reboot (control request): rebooting from its image", vm->name);
	restart(vm);
	return E_OK;
}

int vm_boot(struct vm *vm)
{
	spin_lock(&vm->lock);
	if (vm->state != VM_OFF && vm->state != VM_STOPPED) {
		spin_unlock(&vm->lock);
		return E_STATE;
	}
	vm->state = VM_RESETTING;
	spin_unlock(&vm->lock);
	wait_unloaded(vm); /* a stopped VM's vCPUs are off; make sure they left their CPUs */
	log_line("vm '%s': booting from its image (control request)", vm->name);
	restart(vm);
	return E_OK;
}

int vm_pause(struct vm *vm)
{
	spin_lock(&vm->lock);
	if (vm->state != VM_RUNNING || vm->paused) {
		spin_unlock(&vm->lock);
		return E_STATE;
	}
	__atomic_store_n(&vm->paused, true, __ATOMIC_RELEASE);
	spin_unlock(&vm->lock);
	/* A vCPU in the guest leaves at its CPU's next look; one waiting in WFI may stay loaded
	 * but is not entered again while paused (sched.c). */
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		sched_poke(vm->vcpu[i].pcpu);
	return E_OK;
}

int vm_unpause(struct vm *vm)
{
	spin_lock(&vm->lock);
	if (!vm->paused) {
		spin_unlock(&vm->lock);
		return E_STATE;
	}
	__atomic_store_n(&vm->paused, false, __ATOMIC_RELEASE);
	spin_unlock(&vm->lock);
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		sched_poke(vm->vcpu[i].pcpu);
	return E_OK;
}

int vm_destroy(struct vm *vm)
{
	u64 freed = vm->ram_size;

	spin_lock(&vm->lock);
	/* A reset the guest asked for is copying its images on its own CPU: let it finish. */
	while (vm->state == VM_RESETTING) {
		spin_unlock(&vm->lock);
		arch_cpu_relax();
		spin_lock(&vm->lock);
	}
	if (vm->state == VM_DYING) {
		spin_unlock(&vm->lock);
		return E_STATE;
	}
	vm->state = VM_DYING;
	vm->paused = false;
	vcpus_off(vm);
	spin_unlock(&vm->lock);
	wait_unloaded(vm);
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		sched_remove(&vm->vcpu[i]); /* no CPU can pick it any more */
	vuart_flush(&vm->uart);
	console_vm_gone(vm);
	ctl_vm_gone(vm);
	ivc_vm_gone(vm);       /* its channels' peers ring nobody now */
	virtio_vm_destroy(vm); /* unplugged from its switches, memory back */
	arch_vm_destroy(vm);
	vm_free_pages(vm, vm->ram_pa, vm->ram_size / PAGE_SIZE);
	if (vm->img.staging_pages) {
		vm_free_pages(vm, vm->img.staging_pa, vm->img.staging_pages);
		freed += vm->img.staging_pages * PAGE_SIZE;
	}
	if (vm->resets_hidden)
		log_line("vm '%s': %u more resets (PSCI SYSTEM_RESET) were not shown", vm->name,
			 vm->resets_hidden);
	log_line("vm %u '%s': destroyed; %lu MiB scrubbed and returned to the %s", vm->id,
		 vm->name, freed >> 20, vm->dynamic ? "VM pool" : "hypervisor");
	slot_give_back(vm, true);
	return E_OK;
}

void vm_stop(struct vcpu *caller, const char *why)
{
	struct vm *vm = caller->vm;

	log_line("vm '%s' vcpu %u: %s; vm stopped", vm->name, caller->id, why);
	sched_park_current();
	stop_vcpus(vm, VM_STOPPED);
}

int vm_power_button(struct vm *vm)
{
	bool running, fresh = false;

	/* Under the VM's lock, so a press never lands between a reset's release of the button
	 * and the new boot (vm->lock, then the device's, then the vGIC's: the usual order). */
	spin_lock(&vm->lock);
	running = vm->state == VM_RUNNING;
	if (running) /* raises the PL061's line if the guest enabled it; the vGIC wakes the vCPU */
		fresh = vgpio_press(&vm->gpio, VGPIO_PIN_POWER);
	spin_unlock(&vm->lock);
	if (!running)
		return E_BUSY;
	if (fresh)
		log_line("vm '%s': power button pressed", vm->name);
	return E_OK;
}

struct vcpu *vm_vcpu(struct vm *vm, u32 id)
{
	return id < vm->nr_vcpus ? &vm->vcpu[id] : NULL;
}

bool vm_ram_contains(const struct vm *vm, gpa_t addr, u64 size)
{
	return addr >= vm->ram_base && size <= vm->ram_size &&
	       addr - vm->ram_base <= vm->ram_size - size;
}

/* Takes one report from the VM's budget; false once it is spent (said once). */
static bool report_allowed(struct vm *vm)
{
	u32 n = __atomic_fetch_add(&vm->fault_reports, 1, __ATOMIC_RELAXED);

	if (n == FAULT_REPORTS_MAX)
		log_line("vm '%s': further fault reports suppressed", vm->name);
	return n < FAULT_REPORTS_MAX;
}

void vm_report_vm(struct vm *vm, const char *fmt, ...)
{
	char buf[224];
	va_list ap;

	if (!report_allowed(vm))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_line("vm '%s': %s", vm->name, buf);
}

void vm_report(struct vcpu *v, const char *fmt, ...)
{
	char buf[224];
	va_list ap;

	if (!report_allowed(v->vm))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_line("vm '%s' vcpu %u: %s", v->vm->name, v->id, buf);
}
