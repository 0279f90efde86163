/* Boot: read the machine from its device tree, bring up memory, interrupts and the console,
 * create the VMs the system package describes, start the other CPUs and schedule. */
#include <bulkhead/arch.h>
#include <bulkhead/config.h>
#include <bulkhead/console.h>
#include <bulkhead/errno.h>
#include <bulkhead/ivc.h>
#include <bulkhead/log.h>
#include <bulkhead/package.h>
#include <bulkhead/palloc.h>
#include <bulkhead/passthrough.h>
#include <bulkhead/pcpu.h>
#include <bulkhead/platform.h>
#include <bulkhead/pool.h>
#include <bulkhead/sched.h>
#include <bulkhead/string.h>
#include <bulkhead/vm.h>
#include <drivers/pl011.h>

#define BULKHEAD_VERSION "0.1"

u8 cpu_stacks[MAX_CPUS * STACK_SIZE] __attribute__((aligned(16)));

void mem_init(void);
void boot_primary(const void *dtb);
void secondary_main(u64 idx);

static struct cfg_system sys;
static struct cfg_errors errs;

/* "vCPU 0 on pCPU 1, vCPU 1 on pCPU 2" */
static void describe_vcpus(const struct vm *vm, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (u32 i = 0; i < vm->nr_vcpus && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%svCPU %u on pCPU %u", i ? ", " : "", i,
				      vm->vcpu[i].pcpu);
}

/* One line per passed-through device: its pages, interrupts and DMA. */
static void describe_passthrough(const struct vm *vm)
{
	if (vm->cfg.identity)
		log_line("vm '%s': RAM identity-mapped at physical 0x%lx..0x%lx", vm->name,
			 vm->ram_pa, vm->ram_pa + vm->ram_size);
	for (u32 n = 0; n < vm->cfg.nr_pt; n++) {
		const struct cfg_passthrough *pt = &vm->cfg.pt[n];
		char buf[160];
		size_t len = 0;

		buf[0] = 0;
		for (u32 k = 0; k < pt->nr_regs && len < sizeof(buf); k++) {
			u64 b, s;

			cfg_pt_pages(&pt->reg[k], &b, &s);
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s0x%lx..0x%lx",
						k ? ", " : "", b, b + s);
		}
		for (u32 k = 0; k < pt->nr_irqs && len < sizeof(buf); k++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%u",
						k ? " " : ", INTID ", pt->irq[k]);
		log_line("vm '%s': %s (%s): %s mapped 1:1%s", vm->name, pt->name, pt->compatible, buf,
			 pt->dma ? ", does DMA" : "");
	}
}

/* Finds a file the configuration names in the package; false (with a message) if absent. */
static bool package_file(const struct pkg *pkg, const struct cfg_vm *cfg, const char *field,
			 const char *path, const u8 **data, u64 *size)
{
	*data = NULL;
	*size = 0;
	if (!path)
		return true;
	if (pkg_find(pkg, path, data, size))
		return true;
	log_line("%s: vm '%s': field '%s': '%s' is not in the system package; refused",
		 pkg->source, cfg->name, field, path);
	return false;
}

/* Creates (does not start) the VM; NULL if it is refused. */
static struct vm *create_vm(const struct pkg *pkg, const struct cfg_vm *cfg)
{
	struct vm_images img = { 0 };
	struct vm *vm;
	char cpus[160];

	if (!cfg->valid) {
		log_line("vm '%s': refused, not started (see the errors above)", cfg->name);
		return NULL;
	}
	if ((cfg->identity || cfg->nr_pt) && !passthrough_check_machine(pkg->source, cfg)) {
		log_line("vm '%s': refused, not started (see the errors above)", cfg->name);
		return NULL;
	}
	if (!package_file(pkg, cfg, "image", cfg->image, &img.image, &img.image_size) ||
	    !package_file(pkg, cfg, "initrd", cfg->initrd, &img.initrd, &img.initrd_size) ||
	    !package_file(pkg, cfg, "dtb", cfg->dtb, &img.dtb, &img.dtb_size))
		return NULL;
	for (u32 i = 0; i < cfg->nr_disks; i++) {
		char field[32];

		snprintf(field, sizeof(field), "virtio-blk@%u/image", cfg->disk[i].slot);
		if (!package_file(pkg, cfg, field, cfg->disk[i].image, &img.disk[i],
				  &img.disk_size[i]))
			return NULL;
	}
	int r = vm_create(cfg, &img, &vm);
	if (r) {
		log_line("vm '%s': not created: %s", cfg->name, err_str(r));
		return NULL;
	}
	if (cfg->management && !vm->ctl)
		log_line("%s: vm '%s': field 'management': the VM has no virtio-console, so no "
			 "control channel", pkg->source, cfg->name);
	describe_vcpus(vm, cpus, sizeof(cpus));
	log_line("vm %u '%s': started: %u vCPU%s (%s), %lu MiB RAM at IPA 0x%lx, entry 0x%lx",
		 vm->id, vm->name, vm->nr_vcpus, vm->nr_vcpus > 1 ? "s" : "", cpus,
		 vm->ram_size >> 20, vm->ram_base, vm->load_addr);
	describe_passthrough(vm);
	return vm;
}

/* Creates a shared-memory channel once every VM exists (vm[i]: cfg VM i, NULL if refused). */
static void create_channel(const struct cfg_system *s, const struct cfg_channel *ch,
			   struct vm *const *vm)
{
	struct vm *a, *b;
	int r;

	if (!ch->valid) {
		log_line("channel '%s': refused, not created (see the errors above)", ch->name);
		return;
	}
	a = vm[ch->vm[0]];
	b = vm[ch->vm[1]];
	if (!a || !b) {
		log_line("channel '%s': not created: VM '%s' was not created", ch->name,
			 s->vm[ch->vm[a ? 1 : 0]].name);
		return;
	}
	r = ivc_create(ch, a, b);
	if (r) {
		log_line("channel '%s': not created: %s", ch->name, err_str(r));
		return;
	}
	log_line("channel %u '%s': %lu KiB at IPA 0x%lx shared by '%s' and '%s', doorbell 0x%lx "
		 "(INTID %u)", ch->id, ch->name, ch->size >> 10, ch->ipa, a->name, b->name,
		 ch->ipa + ch->size, IVC_INTID0 + ch->id);
}

static void load_system(void)
{
	struct pkg pkg;
	const char *why;
	struct cfg_limits lim = { .nr_pcpus = nr_pcpus };

	if (!plat.initrd_start) {
		log_line("no system package was loaded (QEMU -initrd): no VMs to run");
		return;
	}
	if (pkg_open(&pkg, arch_phys_to_virt(plat.initrd_start),
		     plat.initrd_end - plat.initrd_start, &why)) {
		log_line("system package at 0x%lx: %s; no VMs to run", plat.initrd_start, why);
		return;
	}
	config_parse(pkg.dtb, pkg.dtb_size, pkg.source, &lim, &sys, &errs);
	for (u32 i = 0; i < errs.count && i < CFG_MAX_ERRORS; i++)
		log_line("%s", errs.msg[i]);
	if (errs.dropped)
		log_line("%s: %u more errors not shown", pkg.source, errs.dropped);
	struct vm *created[CFG_MAX_VMS] = { NULL };

	if (sys.pool_size && pool_init(sys.pool_size))
		log_line("%s: /pool: field 'size': %lu MiB are not free; no VMs can be created at "
			 "run time", pkg.source, sys.pool_size >> 20);
	else if (sys.pool_size)
		log_line("VM pool: %lu MiB set aside for VMs created at run time",
			 sys.pool_size >> 20);

	for (u32 i = 0; i < sys.nr_vms; i++)
		created[i] = create_vm(&pkg, &sys.vm[i]);
	for (u32 i = 0; i < sys.nr_channels; i++)
		create_channel(&sys, &sys.chan[i], created);
	for (u32 i = 0; i < sys.nr_vms; i++) {
		if (!created[i])
			continue;
		if (created[i]->nr_ivc)
			vm_write_dtb(created[i]); /* now with its channels */
		vm_start(created[i]);
	}
}

static void start_secondaries(void)
{
	for (u32 i = 1; i < nr_pcpus; i++) {
		int r = arch_cpu_start(&plat, &pcpus[i]);

		if (r)
			log_line("CPU %u (MPIDR 0x%lx) did not start: firmware error %d", i,
				 pcpus[i].hwid, r);
	}
}

void boot_primary(const void *dtb)
{
	const char *err = platform_probe(dtb, arch_cpu_hwid());

	pl011_init(plat.uart.base);
	console_init();
	if (err)
		panic("%s", err);
	arch_mmu_init();
	nr_pcpus = plat.nr_cpus;
	for (u32 i = 0; i < nr_pcpus; i++) {
		pcpus[i].id = i;
		pcpus[i].hwid = plat.cpu_hwid[i];
	}
	u64 ram = 0;
	for (u32 i = 0; i < plat.nr_mem; i++)
		ram += plat.mem[i].size;
	log_line("Bulkhead %s: type-1 hypervisor at EL2, %u CPUs, %lu MiB RAM", BULKHEAD_VERSION,
		 nr_pcpus, ram >> 20);
	mem_init();
	arch_irq_init(&plat);
	arch_cpu_init(&pcpus[0]);
	pcpus[0].online = true;
	load_system();
	console_focus_first();
	start_secondaries();
	sched_start();
}

void secondary_main(u64 idx)
{
	struct pcpu *p = &pcpus[idx];

	arch_cpu_init(p);
	__atomic_store_n(&p->online, true, __ATOMIC_RELEASE);
	sched_start();
}
