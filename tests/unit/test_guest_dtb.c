/* Tests for the VM device tree generator (hyp/arch/aarch64/guest_dtb.c): every node and value a
 * Linux guest relies on, read back with the hypervisor's FDT reader; dtc accepts the blob; a
 * buffer too small or a wrong description gives 0 and nothing written past the buffer. */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <sys/wait.h>

#include <arch/guest_dtb.h>
#include <bulkhead/fdt.h>

#include "unit.h"

#define CANARY 0x5A
#define CANARY_LEN 64

/* QEMU virt's layout: 2 vCPUs, 128 MiB of RAM at 1 GiB, a command line and an initrd. */
static const struct guest_dtb two_vcpus = {
	.ram_base = 0x40000000,
	.ram_size = 0x8000000,
	.nr_vcpus = 2,
	.bootargs = "console=ttyAMA0 earlycon root=/dev/ram0",
	.initrd_start = 0x44000000,
	.initrd_end = 0x44123456,
	.uart_base = 0x09000000,
	.uart_spi = 1,
	.gpio_base = 0x09030000,
	.gpio_spi = 7,
	.power_pin = 3,
	.gicd_base = 0x08000000,
	.gicr_base = 0x080a0000,
};

/* The same with two virtio-mmio transports: slots 0 and 5 (SPIs 16 and 21). */
static const struct guest_dtb with_virtio = {
	.ram_base = 0x40000000,
	.ram_size = 0x8000000,
	.nr_vcpus = 2,
	.bootargs = "console=ttyAMA0 earlycon root=/dev/ram0",
	.initrd_start = 0x44000000,
	.initrd_end = 0x44123456,
	.uart_base = 0x09000000,
	.uart_spi = 1,
	.gpio_base = 0x09030000,
	.gpio_spi = 7,
	.power_pin = 3,
	.gicd_base = 0x08000000,
	.gicr_base = 0x080a0000,
	.nr_virtio = 2,
	.virtio = { { 0x0a000000, 16 }, { 0x0a000a00, 21 } },
};

/* Checks that property name of node has exactly the n cells in want. */
static void check_cells(const struct fdt *fdt, int node, const char *name, const u32 *want,
			int n, int line)
{
	int len = -1;
	const u8 *v = fdt_getprop(fdt, node, name, &len);

	if (!v || len != 4 * n) {
		unit_fail(__FILE__, line, "property '%s': length %d, want %d cells", name, len, n);
		return;
	}
	for (int i = 0; i < n; i++)
		if (fdt32_ld(v + 4 * i) != want[i])
			unit_fail(__FILE__, line, "property '%s' cell %d: 0x%x, want 0x%x", name, i,
				  fdt32_ld(v + 4 * i), want[i]);
}
#define CHECK_CELLS(fdt, node, name, ...)                                                          \
	do {                                                                                       \
		static const u32 want_[] = { __VA_ARGS__ };                                        \
		check_cells(fdt, node, name, want_, (int)ARRAY_SIZE(want_), __LINE__);             \
	} while (0)

/* Checks that property name of node is exactly the len bytes in want (a string list). */
static void check_bytes(const struct fdt *fdt, int node, const char *name, const char *want,
			int len, int line)
{
	int got = -1;
	const void *v = fdt_getprop(fdt, node, name, &got);

	if (!v || got != len || memcmp(v, want, (size_t)len))
		unit_fail(__FILE__, line, "property '%s': length %d, want %d bytes \"%s\"", name,
			  got, len, want);
}
/* A string list literal, with the NUL that ends its last string. */
#define CHECK_STRINGS(fdt, node, name, lit)                                                        \
	check_bytes(fdt, node, name, lit, (int)sizeof(lit), __LINE__)

/* Node at path, or a test failure. */
static int node_at(const struct fdt *fdt, const char *path, int line)
{
	int node = fdt_path(fdt, path);

	if (node < 0)
		unit_fail(__FILE__, line, "no node %s", path);
	return node;
}
#define NODE(fdt, path) node_at(fdt, path, __LINE__)

/* Builds g into a heap buffer of exactly the blob's size (for ASan); NULL on failure. */
static u8 *build(const struct guest_dtb *g, u32 *size)
{
	static u8 tmp[65536];
	u8 *b;

	*size = guest_dtb_build(tmp, sizeof(tmp), g);
	if (!*size)
		return NULL;
	b = malloc(*size);
	memcpy(b, tmp, *size);
	return b;
}

TEST(guest_dtb_two_vcpus)
{
	struct fdt fdt;
	u32 size, x;
	u64 base, len;
	u8 *b = build(&two_vcpus, &size);
	int root, n;
	const char *stdout_path;

	CHECK(b != NULL);
	if (!b)
		return;
	CHECK(size <= GUEST_DTB_MAX_SIZE);
	CHECK_EQ(fdt_init(&fdt, b, size), 0);
	root = fdt_root(&fdt);

	/* The root. */
	CHECK_STRINGS(&fdt, root, "compatible", "linux,dummy-virt");
	CHECK_STR(fdt_read_string(&fdt, root, "model"), "Bulkhead VM");
	CHECK_CELLS(&fdt, root, "#address-cells", 2);
	CHECK_CELLS(&fdt, root, "#size-cells", 2);
	CHECK_CELLS(&fdt, root, "interrupt-parent", GUEST_DTB_PHANDLE_GIC);

	/* RAM. */
	n = NODE(&fdt, "/memory@40000000");
	CHECK_STR(fdt_read_string(&fdt, n, "device_type"), "memory");
	CHECK(fdt_read_reg(&fdt, n, 0, &base, &len) && base == 0x40000000 && len == 0x8000000);
	CHECK(!fdt_read_reg(&fdt, n, 1, &base, &len));

	/* CPUs. */
	n = NODE(&fdt, "/cpus");
	CHECK_CELLS(&fdt, n, "#address-cells", 1);
	CHECK_CELLS(&fdt, n, "#size-cells", 0);
	for (u32 i = 0; i < 2; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/cpus/cpu@%u", i);
		n = NODE(&fdt, path);
		CHECK_STR(fdt_read_string(&fdt, n, "device_type"), "cpu");
		CHECK_STRINGS(&fdt, n, "compatible", "arm,armv8");
		CHECK(fdt_read_u32(&fdt, n, "reg", &x) && x == i);
		CHECK_STR(fdt_read_string(&fdt, n, "enable-method"), "psci");
	}
	CHECK_EQ(fdt_path(&fdt, "/cpus/cpu@2"), FDT_ERR_NOTFOUND);
	CHECK_EQ(fdt_next_sibling(&fdt, NODE(&fdt, "/cpus/cpu@1")), FDT_ERR_NOTFOUND);

	/* PSCI over HVC. */
	n = NODE(&fdt, "/psci");
	CHECK_STRINGS(&fdt, n, "compatible", "arm,psci-1.0\0arm,psci-0.2");
	CHECK_STR(fdt_read_string(&fdt, n, "method"), "hvc");

	/* The GICv3: distributor 64 KiB, one redistributor region of 2 x 128 KiB. */
	n = NODE(&fdt, "/intc@8000000");
	CHECK_EQ(fdt_find_compatible(&fdt, -1, "arm,gic-v3"), n);
	CHECK_STRINGS(&fdt, n, "compatible", "arm,gic-v3");
	CHECK_CELLS(&fdt, n, "#interrupt-cells", 3);
	CHECK(fdt_getprop(&fdt, n, "interrupt-controller", &(int){ 0 }) != NULL);
	check_bytes(&fdt, n, "interrupt-controller", "", 0, __LINE__);
	check_bytes(&fdt, n, "ranges", "", 0, __LINE__);
	CHECK_CELLS(&fdt, n, "#address-cells", 2);
	CHECK_CELLS(&fdt, n, "#size-cells", 2);
	CHECK_CELLS(&fdt, n, "reg", 0, 0x08000000, 0, 0x10000, 0, 0x080a0000, 0, 0x40000);
	CHECK(fdt_read_reg(&fdt, n, 0, &base, &len) && base == 0x08000000 && len == 0x10000);
	CHECK(fdt_read_reg(&fdt, n, 1, &base, &len) && base == 0x080a0000 && len == 0x40000);
	CHECK_CELLS(&fdt, n, "#redistributor-regions", 1);
	CHECK_CELLS(&fdt, n, "interrupts", 1, 9, 4);
	CHECK_CELLS(&fdt, n, "phandle", GUEST_DTB_PHANDLE_GIC);

	/* The timer: secure, non-secure, virtual, hypervisor PPIs, level high. */
	n = NODE(&fdt, "/timer");
	CHECK_STRINGS(&fdt, n, "compatible", "arm,armv8-timer");
	check_bytes(&fdt, n, "always-on", "", 0, __LINE__);
	CHECK_CELLS(&fdt, n, "interrupts", 1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4);

	/* The UART and its clock. */
	n = NODE(&fdt, "/apb-pclk");
	CHECK_STRINGS(&fdt, n, "compatible", "fixed-clock");
	CHECK_CELLS(&fdt, n, "#clock-cells", 0);
	CHECK_CELLS(&fdt, n, "clock-frequency", 24000000);
	CHECK_STRINGS(&fdt, n, "clock-output-names", "clk24mhz");
	CHECK_CELLS(&fdt, n, "phandle", GUEST_DTB_PHANDLE_CLK);
	n = NODE(&fdt, "/pl011@9000000");
	CHECK_STRINGS(&fdt, n, "compatible", "arm,pl011\0arm,primecell");
	CHECK(fdt_read_reg(&fdt, n, 0, &base, &len) && base == 0x09000000 && len == 0x1000);
	CHECK_CELLS(&fdt, n, "interrupts", 0, 1, 4);
	CHECK_CELLS(&fdt, n, "clocks", GUEST_DTB_PHANDLE_CLK, GUEST_DTB_PHANDLE_CLK);
	CHECK_STRINGS(&fdt, n, "clock-names", "uartclk\0apb_pclk");

	/* The power button: QEMU virt's PL061 and gpio-keys nodes. */
	n = NODE(&fdt, "/pl061@9030000");
	CHECK_STRINGS(&fdt, n, "compatible", "arm,pl061\0arm,primecell");
	CHECK_CELLS(&fdt, n, "reg", 0, 0x09030000, 0, 0x1000);
	CHECK_CELLS(&fdt, n, "interrupts", 0, 7, 4);
	check_bytes(&fdt, n, "gpio-controller", "", 0, __LINE__);
	CHECK_CELLS(&fdt, n, "#gpio-cells", 2);
	CHECK_CELLS(&fdt, n, "clocks", GUEST_DTB_PHANDLE_CLK);
	CHECK_STRINGS(&fdt, n, "clock-names", "apb_pclk");
	CHECK_CELLS(&fdt, n, "phandle", GUEST_DTB_PHANDLE_GPIO);
	n = NODE(&fdt, "/gpio-keys");
	CHECK_STRINGS(&fdt, n, "compatible", "gpio-keys");
	n = NODE(&fdt, "/gpio-keys/poweroff");
	CHECK_STR(fdt_read_string(&fdt, n, "label"), "GPIO Key Poweroff");
	CHECK_CELLS(&fdt, n, "linux,code", 116);
	CHECK_CELLS(&fdt, n, "gpios", GUEST_DTB_PHANDLE_GPIO, 3, 0);
	CHECK_EQ(fdt_next_sibling(&fdt, n), FDT_ERR_NOTFOUND);
	CHECK(GUEST_DTB_PHANDLE_GPIO != GUEST_DTB_PHANDLE_GIC &&
	      GUEST_DTB_PHANDLE_GPIO != GUEST_DTB_PHANDLE_CLK);

	/* /chosen. */
	n = NODE(&fdt, "/chosen");
	CHECK_STR(fdt_read_string(&fdt, n, "bootargs"), two_vcpus.bootargs);
	stdout_path = fdt_read_string(&fdt, n, "stdout-path");
	CHECK_STR(stdout_path, "/pl011@9000000");
	CHECK_EQ(fdt_path(&fdt, stdout_path ? stdout_path : "/"), NODE(&fdt, "/pl011@9000000"));
	CHECK_CELLS(&fdt, n, "linux,initrd-start", 0, 0x44000000);
	CHECK_CELLS(&fdt, n, "linux,initrd-end", 0, 0x44123456);
	free(b);
}

/* Without a command line or an initrd, /chosen has neither; node names follow the addresses. */
TEST(guest_dtb_other_addresses_no_extras)
{
	struct guest_dtb g = two_vcpus;
	struct fdt fdt;
	u32 size;
	u64 base, len;
	u8 *b;
	int n;

	g.ram_base = 0x100000000ULL;
	g.ram_size = 0x80000000ULL;
	g.nr_vcpus = 8;
	g.bootargs = NULL;
	g.initrd_start = g.initrd_end = 0;
	g.uart_base = 0x0a001000;
	g.uart_spi = 7;
	g.gpio_base = 0; /* no PL061: no gpio nodes */
	b = build(&g, &size);
	CHECK(b != NULL);
	if (!b)
		return;
	CHECK_EQ(fdt_init(&fdt, b, size), 0);
	n = NODE(&fdt, "/memory@100000000");
	CHECK(fdt_read_reg(&fdt, n, 0, &base, &len) && base == 0x100000000ULL &&
	      len == 0x80000000ULL);
	n = NODE(&fdt, "/cpus/cpu@7");
	CHECK(fdt_read_u32(&fdt, n, "reg", &(u32){ 0 }));
	CHECK_CELLS(&fdt, n, "reg", 7);
	n = NODE(&fdt, "/intc@8000000");
	CHECK(fdt_read_reg(&fdt, n, 1, &base, &len) && base == 0x080a0000 && len == 0x100000);
	n = NODE(&fdt, "/pl011@a001000");
	CHECK_CELLS(&fdt, n, "interrupts", 0, 7, 4);
	n = NODE(&fdt, "/chosen");
	CHECK_STR(fdt_read_string(&fdt, n, "stdout-path"), "/pl011@a001000");
	CHECK(fdt_getprop(&fdt, n, "bootargs", &(int){ 0 }) == NULL);
	CHECK(fdt_getprop(&fdt, n, "linux,initrd-start", &(int){ 0 }) == NULL);
	CHECK(fdt_getprop(&fdt, n, "linux,initrd-end", &(int){ 0 }) == NULL);
	CHECK_EQ(fdt_find_compatible(&fdt, -1, "arm,pl061"), FDT_ERR_NOTFOUND);
	CHECK_EQ(fdt_path(&fdt, "/gpio-keys"), FDT_ERR_NOTFOUND);
	free(b);
}

/* virtio-mmio nodes as QEMU virt writes them, but level-sensitive; none without devices. */
TEST(guest_dtb_virtio_mmio)
{
	struct fdt fdt;
	u32 size;
	u64 base, len;
	u8 *b = build(&with_virtio, &size);
	int n, plen = -1;

	CHECK(b != NULL);
	if (!b)
		return;
	CHECK_EQ(fdt_init(&fdt, b, size), 0);
	n = NODE(&fdt, "/virtio_mmio@a000000");
	CHECK_STRINGS(&fdt, n, "compatible", "virtio,mmio");
	CHECK(fdt_read_reg(&fdt, n, 0, &base, &len) && base == 0x0a000000 && len == 0x200);
	CHECK_CELLS(&fdt, n, "interrupts", 0, 16, 4);
	CHECK(fdt_getprop(&fdt, n, "dma-coherent", &plen) != NULL && plen == 0);
	n = NODE(&fdt, "/virtio_mmio@a000a00");
	CHECK(fdt_read_reg(&fdt, n, 0, &base, &len) && base == 0x0a000a00 && len == 0x200);
	CHECK_CELLS(&fdt, n, "interrupts", 0, 21, 4);
	CHECK_EQ(fdt_find_compatible(&fdt, n, "virtio,mmio"), FDT_ERR_NOTFOUND);
	free(b);
	b = build(&two_vcpus, &size);
	CHECK(b && fdt_init(&fdt, b, size) == 0);
	if (b)
		CHECK_EQ(fdt_find_compatible(&fdt, -1, "virtio,mmio"), FDT_ERR_NOTFOUND);
	free(b);
}

/* Every buffer size short of the blob gives 0 and writes nothing past the buffer. */
TEST(guest_dtb_too_small)
{
	u32 real, got;
	u8 *ref = build(&two_vcpus, &real);

	CHECK(ref != NULL);
	if (!ref)
		return;
	for (u32 n = 0; n <= real; n++) {
		u8 *b = malloc(n + CANARY_LEN);

		memset(b, CANARY, n + CANARY_LEN);
		got = guest_dtb_build(b, n, &two_vcpus);
		if (got != (n < real ? 0 : real))
			unit_fail(__FILE__, __LINE__, "size %u: got %u", n, got);
		if (n == real && memcmp(b, ref, real))
			unit_fail(__FILE__, __LINE__, "size %u: a different blob", n);
		for (u32 i = n; i < n + CANARY_LEN; i++)
			if (b[i] != CANARY) {
				unit_fail(__FILE__, __LINE__, "size %u: byte %u written", n, i);
				break;
			}
		free(b);
	}
	free(ref);
}

TEST(guest_dtb_bad_description)
{
	static u8 buf[8192];
	struct guest_dtb g = two_vcpus;

	g.nr_vcpus = 0;
	CHECK_EQ(guest_dtb_build(buf, sizeof(buf), &g), 0);
	g.nr_vcpus = GUEST_DTB_MAX_VCPUS + 1;
	CHECK_EQ(guest_dtb_build(buf, sizeof(buf), &g), 0);
	g = two_vcpus;
	g.ram_size = 0;
	CHECK_EQ(guest_dtb_build(buf, sizeof(buf), &g), 0);
	g = two_vcpus;
	g.initrd_end = g.initrd_start - 1;
	CHECK_EQ(guest_dtb_build(buf, sizeof(buf), &g), 0);
	g = with_virtio;
	g.nr_virtio = GUEST_DTB_MAX_VIRTIO + 1;
	CHECK_EQ(guest_dtb_build(buf, sizeof(buf), &g), 0);
	g = two_vcpus;
	g.power_pin = 8; /* a PL061 has pins 0..7 */
	CHECK_EQ(guest_dtb_build(buf, sizeof(buf), &g), 0);
	CHECK_EQ(guest_dtb_build(buf, sizeof(buf), NULL), 0);
}

/* dtc decompiles the blob without a complaint (its checks cover the bindings' basics: cell
 * counts, unit addresses against reg, phandles). */
TEST(guest_dtb_dtc_accepts)
{
	char path[] = "/tmp/guest-dtb-unit-XXXXXX", cmd[512], err[4096];
	u32 size;
	u8 *b = build(&with_virtio, &size);
	int fd, st;
	size_t n = 0;
	FILE *f;

	fd = mkstemp(path);
	CHECK(fd >= 0 && b);
	if (fd < 0 || !b) {
		free(b);
		return;
	}
	f = fdopen(fd, "wb");
	CHECK(f && fwrite(b, 1, size, f) == size);
	if (f)
		fclose(f);
	snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o /dev/null %s 2>&1", path);
	f = popen(cmd, "r");
	CHECK(f != NULL);
	if (f) {
		n = fread(err, 1, sizeof(err) - 1, f);
		err[n] = 0;
		st = pclose(f);
		CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
		if (n) /* dtc's warnings */
			unit_fail(__FILE__, __LINE__, "dtc says: %s", err);
	}
	remove(path);
	free(b);
}

/* Passed-through devices: compatible list as given, every reg range (not page-rounded),
 * level-sensitive SPIs, dma-coherent only for a DMA device; an invalid description (no reg,
 * no compatible, too many ranges) builds nothing. */
TEST(guest_dtb_passthrough)
{
	struct guest_dtb g = two_vcpus;
	struct fdt fdt;
	u32 size;
	u8 *b;
	int n, plen = -1;

	g.nr_pt = 2;
	g.pt[0].compatible = "virtio,mmio";
	g.pt[0].compatible_len = 12;
	g.pt[0].nr_regs = 1;
	g.pt[0].reg_base[0] = 0x0a003e00;
	g.pt[0].reg_size[0] = 0x200;
	g.pt[0].nr_irqs = 1;
	g.pt[0].spi[0] = 47;
	g.pt[0].dma = true;
	g.pt[1].compatible = "acme,widget\0acme,gadget";
	g.pt[1].compatible_len = 24;
	g.pt[1].nr_regs = 2;
	g.pt[1].reg_base[0] = 0x10000000;
	g.pt[1].reg_size[0] = 0x2000;
	g.pt[1].reg_base[1] = 0x110000000ULL;
	g.pt[1].reg_size[1] = 0x1000;
	b = build(&g, &size);
	CHECK(b != NULL);
	if (!b)
		return;
	CHECK_EQ(fdt_init(&fdt, b, size), 0);
	n = NODE(&fdt, "/passthrough@a003e00");
	CHECK_STRINGS(&fdt, n, "compatible", "virtio,mmio");
	CHECK_CELLS(&fdt, n, "reg", 0, 0x0a003e00, 0, 0x200);
	CHECK_CELLS(&fdt, n, "interrupts", 0, 47, 4);
	CHECK(fdt_getprop(&fdt, n, "dma-coherent", &plen) != NULL && plen == 0);
	n = NODE(&fdt, "/passthrough@10000000");
	CHECK_STRINGS(&fdt, n, "compatible", "acme,widget\0acme,gadget");
	CHECK_CELLS(&fdt, n, "reg", 0, 0x10000000, 0, 0x2000, 1, 0x10000000, 0, 0x1000);
	CHECK(fdt_getprop(&fdt, n, "interrupts", &plen) == NULL);
	CHECK(fdt_getprop(&fdt, n, "dma-coherent", &plen) == NULL);
	free(b);

	g.pt[1].nr_regs = 0;
	CHECK(build(&g, &size) == NULL);
	g.pt[1].nr_regs = GUEST_DTB_PT_REGS + 1;
	CHECK(build(&g, &size) == NULL);
	g.pt[1].nr_regs = 1;
	g.pt[1].compatible = NULL;
	CHECK(build(&g, &size) == NULL);
	g.nr_pt = GUEST_DTB_MAX_PT + 1;
	CHECK(build(&g, &size) == NULL);
}
