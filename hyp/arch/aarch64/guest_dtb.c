/* Generates a VM's device tree (see arch/guest_dtb.h). Node names, properties and values follow
 * what QEMU's virt board (gic-version=3) writes, minus the devices a VM does not get. */
#include <arch/guest_dtb.h>
#include <bulkhead/fdt_write.h>
#include <bulkhead/string.h>

/* The GIC binding's interrupt specifier: <type number flags>. */
#define GIC_SPI 0U
#define GIC_PPI 1U
#define IRQ_EDGE_RISING 1U
#define IRQ_LEVEL_HIGH 4U /* with GICv3 there is no CPU mask in the flags (QEMU does the same) */
#define APB_PCLK_HZ 24000000U

#define NAME_LEN 48

/* reg = <base size> with two cells each. */
static void prop_reg(struct fdtw *w, u64 base, u64 size)
{
	u32 reg[4] = { (u32)(base >> 32), (u32)base, (u32)(size >> 32), (u32)size };

	fdtw_prop_cells(w, "reg", reg, 4);
}

/* A node named "name@<base in hex>". */
static void begin_unit_node(struct fdtw *w, const char *name, u64 base)
{
	char buf[NAME_LEN];

	snprintf(buf, sizeof(buf), "%s@%llx", name, (unsigned long long)base);
	fdtw_begin_node(w, buf);
}

static void write_root_props(struct fdtw *w)
{
	static const char *const compat[] = { "linux,dummy-virt" };

	fdtw_prop_strings(w, "compatible", compat, 1);
	fdtw_prop_string(w, "model", "Bulkhead VM");
	fdtw_prop_u32(w, "#address-cells", 2);
	fdtw_prop_u32(w, "#size-cells", 2);
	fdtw_prop_u32(w, "interrupt-parent", GUEST_DTB_PHANDLE_GIC);
}

static void write_psci(struct fdtw *w)
{
	static const char *const compat[] = { "arm,psci-1.0", "arm,psci-0.2" };

	fdtw_begin_node(w, "psci");
	fdtw_prop_strings(w, "compatible", compat, 2);
	fdtw_prop_string(w, "method", "hvc");
	fdtw_end_node(w);
}

static void write_memory(struct fdtw *w, const struct guest_dtb *g)
{
	begin_unit_node(w, "memory", g->ram_base);
	fdtw_prop_string(w, "device_type", "memory");
	prop_reg(w, g->ram_base, g->ram_size);
	fdtw_end_node(w);
}

static void write_cpus(struct fdtw *w, const struct guest_dtb *g)
{
	char name[NAME_LEN];

	fdtw_begin_node(w, "cpus");
	fdtw_prop_u32(w, "#address-cells", 1);
	fdtw_prop_u32(w, "#size-cells", 0);
	for (u32 i = 0; i < g->nr_vcpus; i++) {
		snprintf(name, sizeof(name), "cpu@%x", i);
		fdtw_begin_node(w, name);
		fdtw_prop_string(w, "device_type", "cpu");
		fdtw_prop_string(w, "compatible", "arm,armv8");
		fdtw_prop_u32(w, "reg", i); /* MPIDR Aff0 */
		fdtw_prop_string(w, "enable-method", "psci");
		fdtw_end_node(w);
	}
	fdtw_end_node(w);
}

static void write_gic(struct fdtw *w, const struct guest_dtb *g)
{
	u64 gicr_size = (u64)g->nr_vcpus * GUEST_DTB_GICR_STRIDE;
	u32 reg[8] = { (u32)(g->gicd_base >> 32), (u32)g->gicd_base,
		       (u32)(GUEST_DTB_GICD_SIZE >> 32), (u32)GUEST_DTB_GICD_SIZE,
		       (u32)(g->gicr_base >> 32), (u32)g->gicr_base,
		       (u32)(gicr_size >> 32), (u32)gicr_size };
	u32 maint[3] = { GIC_PPI, GUEST_DTB_PPI_MAINT, IRQ_LEVEL_HIGH };

	begin_unit_node(w, "intc", g->gicd_base);
	fdtw_prop_string(w, "compatible", "arm,gic-v3");
	fdtw_prop_u32(w, "#interrupt-cells", 3);
	fdtw_prop_empty(w, "interrupt-controller");
	fdtw_prop_u32(w, "#address-cells", 2);
	fdtw_prop_u32(w, "#size-cells", 2);
	fdtw_prop_empty(w, "ranges");
	fdtw_prop_cells(w, "reg", reg, 8);
	fdtw_prop_u32(w, "#redistributor-regions", 1);
	fdtw_prop_cells(w, "interrupts", maint, 3);
	fdtw_prop_u32(w, "phandle", GUEST_DTB_PHANDLE_GIC);
	fdtw_end_node(w);
}

/* The architected timer: secure, non-secure physical, virtual, hypervisor PPIs, in the
 * binding's order. */
static void write_timer(struct fdtw *w)
{
	static const u32 irqs[12] = {
		GIC_PPI, GUEST_DTB_PPI_SEC,  IRQ_LEVEL_HIGH, GIC_PPI, GUEST_DTB_PPI_PHYS, IRQ_LEVEL_HIGH,
		GIC_PPI, GUEST_DTB_PPI_VIRT, IRQ_LEVEL_HIGH, GIC_PPI, GUEST_DTB_PPI_HYP,  IRQ_LEVEL_HIGH,
	};

	fdtw_begin_node(w, "timer");
	fdtw_prop_string(w, "compatible", "arm,armv8-timer");
	fdtw_prop_empty(w, "always-on");
	fdtw_prop_cells(w, "interrupts", irqs, 12);
	fdtw_end_node(w);
}

static void write_clock(struct fdtw *w)
{
	fdtw_begin_node(w, "apb-pclk");
	fdtw_prop_string(w, "compatible", "fixed-clock");
	fdtw_prop_u32(w, "#clock-cells", 0);
	fdtw_prop_u32(w, "clock-frequency", APB_PCLK_HZ);
	fdtw_prop_string(w, "clock-output-names", "clk24mhz");
	fdtw_prop_u32(w, "phandle", GUEST_DTB_PHANDLE_CLK);
	fdtw_end_node(w);
}

static void write_uart(struct fdtw *w, const struct guest_dtb *g)
{
	static const char *const compat[] = { "arm,pl011", "arm,primecell" };
	static const char *const clock_names[] = { "uartclk", "apb_pclk" };
	u32 irq[3] = { GIC_SPI, g->uart_spi, IRQ_LEVEL_HIGH };
	u32 clocks[2] = { GUEST_DTB_PHANDLE_CLK, GUEST_DTB_PHANDLE_CLK };

	begin_unit_node(w, "pl011", g->uart_base);
	fdtw_prop_strings(w, "compatible", compat, 2);
	prop_reg(w, g->uart_base, GUEST_DTB_UART_SIZE);
	fdtw_prop_cells(w, "interrupts", irq, 3);
	fdtw_prop_cells(w, "clocks", clocks, 2);
	fdtw_prop_strings(w, "clock-names", clock_names, 2);
	fdtw_end_node(w);
}

/* The power button as QEMU virt wires it: a gpio-keys node whose poweroff key (KEY_POWER) is
 * a pin of the PL061, active high; the PL061's interrupt is level-sensitive. */
static void write_gpio(struct fdtw *w, const struct guest_dtb *g)
{
	static const char *const compat[] = { "arm,pl061", "arm,primecell" };
	u32 gpios[3] = { GUEST_DTB_PHANDLE_GPIO, g->power_pin, 0 /* GPIO_ACTIVE_HIGH */ };
	u32 irq[3] = { GIC_SPI, g->gpio_spi, IRQ_LEVEL_HIGH };

	if (!g->gpio_base)
		return;
	fdtw_begin_node(w, "gpio-keys");
	fdtw_prop_string(w, "compatible", "gpio-keys");
	fdtw_begin_node(w, "poweroff");
	fdtw_prop_string(w, "label", "GPIO Key Poweroff");
	fdtw_prop_u32(w, "linux,code", GUEST_DTB_KEY_POWER);
	fdtw_prop_cells(w, "gpios", gpios, 3);
	fdtw_end_node(w);
	fdtw_end_node(w);

	begin_unit_node(w, "pl061", g->gpio_base);
	fdtw_prop_strings(w, "compatible", compat, 2);
	prop_reg(w, g->gpio_base, GUEST_DTB_GPIO_SIZE);
	fdtw_prop_cells(w, "interrupts", irq, 3);
	fdtw_prop_empty(w, "gpio-controller");
	fdtw_prop_u32(w, "#gpio-cells", 2);
	fdtw_prop_u32(w, "clocks", GUEST_DTB_PHANDLE_CLK);
	fdtw_prop_string(w, "clock-names", "apb_pclk");
	fdtw_prop_u32(w, "phandle", GUEST_DTB_PHANDLE_GPIO);
	fdtw_end_node(w);
}

/* virtio-mmio transports as QEMU virt describes them, except that the interrupt is
 * level-sensitive (QEMU's tree says edge): the line follows InterruptStatus. */
static void write_virtio(struct fdtw *w, const struct guest_dtb *g)
{
	for (u32 i = 0; i < g->nr_virtio; i++) {
		u32 irq[3] = { GIC_SPI, g->virtio[i].spi, IRQ_LEVEL_HIGH };

		begin_unit_node(w, "virtio_mmio", g->virtio[i].base);
		fdtw_prop_empty(w, "dma-coherent");
		fdtw_prop_cells(w, "interrupts", irq, 3);
		prop_reg(w, g->virtio[i].base, GUEST_DTB_VIRTIO_SIZE);
		fdtw_prop_string(w, "compatible", "virtio,mmio");
		fdtw_end_node(w);
	}
}

/* Shared-memory channels: reg = <region> <doorbell page>, an edge-triggered SPI. */
static void write_ivc(struct fdtw *w, const struct guest_dtb *g)
{
	for (u32 i = 0; i < g->nr_ivc; i++) {
		u64 b = g->ivc[i].base, s = g->ivc[i].size, d = b + s;
		u32 reg[8] = { (u32)(b >> 32), (u32)b, (u32)(s >> 32), (u32)s,
			       (u32)(d >> 32), (u32)d, 0, (u32)GUEST_DTB_IVC_DOORBELL };
		u32 irq[3] = { GIC_SPI, g->ivc[i].spi, IRQ_EDGE_RISING };

		begin_unit_node(w, "shmem", b);
		fdtw_prop_string(w, "compatible", "bulkhead,ivc-channel");
		fdtw_prop_cells(w, "reg", reg, 8);
		fdtw_prop_cells(w, "interrupts", irq, 3);
		fdtw_prop_string(w, "bulkhead,channel", g->ivc[i].name ? g->ivc[i].name : "");
		fdtw_prop_string(w, "bulkhead,peer", g->ivc[i].peer ? g->ivc[i].peer : "");
		fdtw_prop_u32(w, "bulkhead,role", g->ivc[i].role);
		fdtw_end_node(w);
	}
}

/* Passed-through devices: the node the machine's own tree would have (reg and interrupts as
 * the configuration gives them, level-sensitive SPIs), named passthrough@<first reg base>. */
static void write_passthrough(struct fdtw *w, const struct guest_dtb *g)
{
	for (u32 i = 0; i < g->nr_pt; i++) {
		u32 reg[4 * GUEST_DTB_PT_REGS], irq[3 * GUEST_DTB_PT_IRQS];

		for (u32 k = 0; k < g->pt[i].nr_regs; k++) {
			reg[4 * k] = (u32)(g->pt[i].reg_base[k] >> 32);
			reg[4 * k + 1] = (u32)g->pt[i].reg_base[k];
			reg[4 * k + 2] = (u32)(g->pt[i].reg_size[k] >> 32);
			reg[4 * k + 3] = (u32)g->pt[i].reg_size[k];
		}
		for (u32 k = 0; k < g->pt[i].nr_irqs; k++) {
			irq[3 * k] = GIC_SPI;
			irq[3 * k + 1] = g->pt[i].spi[k];
			irq[3 * k + 2] = IRQ_LEVEL_HIGH;
		}
		begin_unit_node(w, "passthrough", g->pt[i].reg_base[0]);
		fdtw_prop(w, "compatible", g->pt[i].compatible, g->pt[i].compatible_len);
		fdtw_prop_cells(w, "reg", reg, 4 * g->pt[i].nr_regs);
		if (g->pt[i].nr_irqs)
			fdtw_prop_cells(w, "interrupts", irq, 3 * g->pt[i].nr_irqs);
		if (g->pt[i].dma)
			fdtw_prop_empty(w, "dma-coherent");
		fdtw_end_node(w);
	}
}

/* The passed-through devices' descriptions are usable. */
static bool pt_valid(const struct guest_dtb *g)
{
	if (g->nr_pt > GUEST_DTB_MAX_PT)
		return false;
	for (u32 i = 0; i < g->nr_pt; i++)
		if (!g->pt[i].nr_regs || g->pt[i].nr_regs > GUEST_DTB_PT_REGS ||
		    g->pt[i].nr_irqs > GUEST_DTB_PT_IRQS || !g->pt[i].compatible ||
		    !g->pt[i].compatible_len)
			return false;
	return true;
}

static void write_chosen(struct fdtw *w, const struct guest_dtb *g)
{
	char path[NAME_LEN];

	snprintf(path, sizeof(path), "/pl011@%llx", (unsigned long long)g->uart_base);
	fdtw_begin_node(w, "chosen");
	if (g->bootargs)
		fdtw_prop_string(w, "bootargs", g->bootargs);
	fdtw_prop_string(w, "stdout-path", path);
	if (g->initrd_start || g->initrd_end) {
		fdtw_prop_u64(w, "linux,initrd-start", g->initrd_start);
		fdtw_prop_u64(w, "linux,initrd-end", g->initrd_end);
	}
	fdtw_end_node(w);
}

u32 guest_dtb_build(void *buf, u32 size, const struct guest_dtb *g)
{
	struct fdtw w;
	int r;

	if (!g || g->nr_vcpus == 0 || g->nr_vcpus > GUEST_DTB_MAX_VCPUS || !g->ram_size ||
	    g->initrd_end < g->initrd_start || g->nr_virtio > GUEST_DTB_MAX_VIRTIO ||
	    g->nr_ivc > GUEST_DTB_MAX_IVC || g->power_pin > 7 || !pt_valid(g))
		return 0;
	fdtw_init(&w, buf, size);
	fdtw_begin_node(&w, "");
	write_root_props(&w);
	write_chosen(&w, g);
	write_psci(&w);
	write_memory(&w, g);
	write_cpus(&w, g);
	write_gic(&w, g);
	write_timer(&w);
	write_clock(&w);
	write_uart(&w, g);
	write_gpio(&w, g);
	write_virtio(&w, g);
	write_ivc(&w, g);
	write_passthrough(&w, g);
	fdtw_end_node(&w);
	r = fdtw_finish(&w);
	return r > 0 ? (u32)r : 0;
}
