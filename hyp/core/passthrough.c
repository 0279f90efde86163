/* Boot-time checks of passed-through devices and identity-mapped RAM against the machine the
 * hypervisor found in its device tree: what the configuration checker cannot know. */
#include <bulkhead/arch.h>
#include <bulkhead/log.h>
#include <bulkhead/passthrough.h>
#include <bulkhead/platform.h>

extern char __image_start[], __image_end[];

/* What the hypervisor itself uses in physical memory, named for messages. */
struct used_range {
	const char *what;
	paddr_t base;
	u64 size;
};

static u32 hyp_ranges(struct used_range *r, u32 cap)
{
	u32 n = 0;

	r[n++] = (struct used_range){ "the hypervisor's image", (uintptr_t)__image_start,
				      (uintptr_t)__image_end - (uintptr_t)__image_start };
	if (plat.initrd_end > plat.initrd_start)
		r[n++] = (struct used_range){ "the system package", plat.initrd_start,
					      plat.initrd_end - plat.initrd_start };
	for (u32 i = 0; i < plat.nr_rsv && n < cap; i++)
		r[n++] = (struct used_range){ "the machine's device tree or a reserved range",
					      plat.rsv[i].base, plat.rsv[i].size };
	return n;
}

/* identity-map: the whole of memory inside one RAM range of the machine, clear of what the
 * hypervisor uses. (Other VMs' RAM is found by the page allocator when it is taken.) */
static bool check_identity(const char *file, const struct cfg_vm *cfg)
{
	struct used_range used[PLAT_MAX_RSV + 2];
	u64 b = cfg->ram.base, s = cfg->ram.size;
	bool in_ram = false, ok = true;
	u32 n = hyp_ranges(used, ARRAY_SIZE(used));

	for (u32 i = 0; i < plat.nr_mem; i++)
		in_ram |= b >= plat.mem[i].base && s <= plat.mem[i].size &&
			  b - plat.mem[i].base <= plat.mem[i].size - s;
	if (!in_ram) {
		log_line("%s: vm '%s': field 'memory': identity-mapped RAM 0x%lx..0x%lx is not RAM "
			 "of this machine (RAM starts at 0x%lx, %lu MiB)", file, cfg->name, b, b + s,
			 plat.mem[0].base, plat.mem[0].size >> 20);
		return false;
	}
	for (u32 i = 0; i < n; i++) {
		if (!ranges_overlap(b, s, used[i].base, used[i].size))
			continue;
		log_line("%s: vm '%s': field 'memory': identity-mapped RAM 0x%lx..0x%lx overlaps %s "
			 "(0x%lx..0x%lx)", file, cfg->name, b, b + s, used[i].what, used[i].base,
			 used[i].base + used[i].size);
		ok = false;
	}
	return ok;
}

/* A passed-through range: not RAM, not the hypervisor's UART or GIC. */
static bool check_range(const char *file, const struct cfg_vm *cfg,
			const struct cfg_passthrough *pt, const struct cfg_region *r)
{
	const struct used_range dev[3] = {
		{ "the hypervisor's UART", plat.uart.base, plat.uart.size },
		{ "the GIC distributor", plat.gicd.base, plat.gicd.size },
		{ "the GIC redistributors", plat.gicr.base, plat.gicr.size },
	};
	u64 b, s;
	bool ok = true;

	cfg_pt_pages(r, &b, &s);
	for (u32 i = 0; i < plat.nr_mem; i++)
		if (ranges_overlap(b, s, plat.mem[i].base, plat.mem[i].size)) {
			log_line("%s: vm '%s': field '%s/reg': pages 0x%lx..0x%lx are RAM of this "
				 "machine, not a device", file, cfg->name, pt->name, b, b + s);
			ok = false;
		}
	for (u32 i = 0; i < ARRAY_SIZE(dev); i++)
		if (ranges_overlap(b, s, dev[i].base, dev[i].size)) {
			log_line("%s: vm '%s': field '%s/reg': pages 0x%lx..0x%lx overlap %s "
				 "(0x%lx..0x%lx), which the hypervisor keeps", file, cfg->name, pt->name,
				 b, b + s, dev[i].what, dev[i].base, dev[i].base + dev[i].size);
			ok = false;
		}
	return ok;
}

/* A passed-through SPI: one the GIC has, not the hypervisor's console interrupt. */
static bool check_irq(const char *file, const struct cfg_vm *cfg,
		      const struct cfg_passthrough *pt, u32 intid)
{
	u32 lines = arch_irq_nr_lines();

	if (intid >= lines) {
		log_line("%s: vm '%s': field '%s/interrupts': INTID %u: this machine's GIC has "
			 "INTIDs up to %u", file, cfg->name, pt->name, intid, lines - 1);
		return false;
	}
	if (intid == plat.uart_irq) {
		log_line("%s: vm '%s': field '%s/interrupts': INTID %u is the hypervisor's UART's",
			 file, cfg->name, pt->name, intid);
		return false;
	}
	return true;
}

bool passthrough_check_machine(const char *file, const struct cfg_vm *cfg)
{
	bool ok = !cfg->identity || check_identity(file, cfg);

	for (u32 d = 0; d < cfg->nr_pt; d++) {
		const struct cfg_passthrough *pt = &cfg->pt[d];

		for (u32 k = 0; k < pt->nr_regs; k++)
			ok &= check_range(file, cfg, pt, &pt->reg[k]);
		for (u32 k = 0; k < pt->nr_irqs; k++)
			ok &= check_irq(file, cfg, pt, pt->irq[k]);
	}
	return ok;
}
