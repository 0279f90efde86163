/* Reads the machine's description from the device tree: CPUs, memory, UART, GIC, timer,
 * PSCI and the loaded system package. Fallbacks are QEMU virt's documented addresses. */
#include <bulkhead/platform.h>
#include <bulkhead/string.h>

struct platform plat;

/* QEMU virt's layout, used only when the device tree does not say (docs/architecture.md). */
#define VIRT_UART 0x09000000ULL
#define VIRT_UART_IRQ 33
#define VIRT_GICD 0x08000000ULL
#define VIRT_GICR 0x080A0000ULL
#define VIRT_HYP_TIMER_IRQ 26

static void probe_cpus(u64 boot_hwid)
{
	const struct fdt *f = &plat.fdt;
	int cpus = fdt_path(f, "/cpus");

	plat.nr_cpus = 1;
	plat.cpu_hwid[0] = boot_hwid;
	if (cpus < 0)
		return;
	for (int n = fdt_first_child(f, cpus); n >= 0; n = fdt_next_sibling(f, n)) {
		const char *type = fdt_read_string(f, n, "device_type");
		u64 hwid, sz;

		if (!type || strcmp(type, "cpu") || !fdt_read_reg(f, n, 0, &hwid, &sz))
			continue;
		if (hwid == boot_hwid || plat.nr_cpus == MAX_CPUS)
			continue;
		plat.cpu_hwid[plat.nr_cpus++] = hwid;
	}
}

static void probe_memory(void)
{
	const struct fdt *f = &plat.fdt;
	int root = fdt_root(f);

	for (int n = fdt_first_child(f, root); n >= 0; n = fdt_next_sibling(f, n)) {
		const char *type = fdt_read_string(f, n, "device_type");

		if (!type || strcmp(type, "memory"))
			continue;
		for (int i = 0; plat.nr_mem < PLAT_MAX_MEM; i++) {
			struct mem_range *m = &plat.mem[plat.nr_mem];

			if (!fdt_read_reg(f, n, i, &m->base, &m->size))
				break;
			if (m->size)
				plat.nr_mem++;
		}
	}
	for (int i = 0; plat.nr_rsv < PLAT_MAX_RSV - 1; i++) {
		struct mem_range *r = &plat.rsv[plat.nr_rsv];

		if (!fdt_rsvmap(f, i, &r->base, &r->size))
			break;
		plat.nr_rsv++;
	}
	plat.rsv[plat.nr_rsv].base = (paddr_t)(uintptr_t)f->blob;
	plat.rsv[plat.nr_rsv++].size = f->size;
}

/* The UART named by /chosen/stdout-path, else the first PL011. */
static void probe_uart(void)
{
	const struct fdt *f = &plat.fdt;
	int chosen = fdt_path(f, "/chosen");
	int node = FDT_ERR_NOTFOUND;
	const char *path = chosen >= 0 ? fdt_read_string(f, chosen, "stdout-path") : NULL;

	if (path) {
		char buf[64];
		size_t n = 0;

		while (path[n] && path[n] != ':' && n < sizeof(buf) - 1) {
			buf[n] = path[n];
			n++;
		}
		buf[n] = '\0';
		node = fdt_path(f, buf);
	}
	if (node < 0)
		node = fdt_find_compatible(f, -1, "arm,pl011");
	plat.uart.base = VIRT_UART;
	plat.uart.size = 0x1000;
	plat.uart_irq = VIRT_UART_IRQ;
	if (node < 0)
		return;
	fdt_read_reg(f, node, 0, &plat.uart.base, &plat.uart.size);
	int len;
	const u8 *irq = fdt_getprop(f, node, "interrupts", &len);
	if (irq && len >= 12)
		plat.uart_irq = fdt32_ld(irq + 4) + (fdt32_ld(irq) == 0 ? 32 : 16);
}

static void probe_gic_timer_psci(void)
{
	const struct fdt *f = &plat.fdt;
	int n = fdt_find_compatible(f, -1, "arm,gic-v3");

	plat.gicd = (struct mem_range){ VIRT_GICD, 0x10000 };
	plat.gicr = (struct mem_range){ VIRT_GICR, 0x20000ULL * MAX_CPUS };
	if (n >= 0) {
		fdt_read_reg(f, n, 0, &plat.gicd.base, &plat.gicd.size);
		fdt_read_reg(f, n, 1, &plat.gicr.base, &plat.gicr.size);
	}
	plat.hyp_timer_irq = VIRT_HYP_TIMER_IRQ;
	n = fdt_find_compatible(f, -1, "arm,armv8-timer");
	int len;
	const u8 *irq = n >= 0 ? fdt_getprop(f, n, "interrupts", &len) : NULL;
	if (irq && len >= 48)
		plat.hyp_timer_irq = fdt32_ld(irq + 40) + 16; /* 4th entry: hypervisor timer PPI */
	n = fdt_path(f, "/psci");
	const char *method = n >= 0 ? fdt_read_string(f, n, "method") : NULL;
	plat.psci_hvc = method && !strcmp(method, "hvc");
}

static void probe_initrd(void)
{
	const struct fdt *f = &plat.fdt;
	int chosen = fdt_path(f, "/chosen");
	int l1, l2;
	const u8 *s = chosen >= 0 ? fdt_getprop(f, chosen, "linux,initrd-start", &l1) : NULL;
	const u8 *e = chosen >= 0 ? fdt_getprop(f, chosen, "linux,initrd-end", &l2) : NULL;

	if (!s || !e || (l1 != 4 && l1 != 8) || (l2 != 4 && l2 != 8))
		return;
	plat.initrd_start = fdt_cells_ld(s, (u32)l1 / 4);
	plat.initrd_end = fdt_cells_ld(e, (u32)l2 / 4);
	if (plat.initrd_end < plat.initrd_start)
		plat.initrd_end = plat.initrd_start;
}

const char *platform_probe(const void *dtb, u64 boot_hwid)
{
	if (!dtb || fdt_init(&plat.fdt, dtb, fdt_blob_size(dtb)) != 0)
		return "no valid device tree in x0";
	probe_cpus(boot_hwid);
	probe_memory();
	if (!plat.nr_mem)
		return "device tree has no memory node";
	probe_uart();
	probe_gic_timer_psci();
	probe_initrd();
	return NULL;
}
