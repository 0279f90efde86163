/* The shared-memory channel nodes of the VM device tree (hyp/arch/aarch64/guest_dtb.c):
 * read back with the hypervisor's FDT reader. */
#include <stdlib.h>

#include <arch/guest_dtb.h>
#include <bulkhead/fdt.h>

#include "unit.h"

static const struct guest_dtb with_ivc = {
	.ram_base = 0x40000000,
	.ram_size = 0x1000000,
	.nr_vcpus = 1,
	.uart_base = 0x09000000,
	.uart_spi = 1,
	.gicd_base = 0x08000000,
	.gicr_base = 0x080a0000,
	.nr_ivc = 2,
	.ivc = { { 0x20000000, 0x10000, 48, 0, "chan0", "beta" },
		 { 0x7e00000000ULL, 0x1000000, 49, 1, "side-1", "gamma" } },
};

TEST(guest_dtb_ivc_channels)
{
	struct fdt fdt;
	u8 *b = malloc(GUEST_DTB_MAX_SIZE);
	u32 size, v;
	u64 base, len;
	int n, plen;
	const u8 *irq;

	CHECK(b != NULL);
	if (!b)
		return;
	size = guest_dtb_build(b, GUEST_DTB_MAX_SIZE, &with_ivc);
	CHECK(size > 0);
	CHECK_EQ(fdt_init(&fdt, b, size), 0);
	n = fdt_path(&fdt, "/shmem@20000000");
	CHECK(n >= 0);
	CHECK(fdt_is_compatible(&fdt, n, "bulkhead,ivc-channel"));
	CHECK(fdt_read_reg(&fdt, n, 0, &base, &len) && base == 0x20000000 && len == 0x10000);
	CHECK(fdt_read_reg(&fdt, n, 1, &base, &len) && base == 0x20010000 && len == 0x1000);
	irq = fdt_getprop(&fdt, n, "interrupts", &plen);
	CHECK(irq && plen == 12);
	if (irq && plen == 12)
		CHECK(fdt32_ld(irq) == 0 && fdt32_ld(irq + 4) == 48 && fdt32_ld(irq + 8) == 1);
	CHECK_STR(fdt_read_string(&fdt, n, "bulkhead,channel"), "chan0");
	CHECK_STR(fdt_read_string(&fdt, n, "bulkhead,peer"), "beta");
	CHECK(fdt_read_u32(&fdt, n, "bulkhead,role", &v) && v == 0);
	n = fdt_path(&fdt, "/shmem@7e00000000");
	CHECK(n >= 0);
	CHECK(fdt_read_reg(&fdt, n, 1, &base, &len) && base == 0x7e01000000ULL && len == 0x1000);
	CHECK_STR(fdt_read_string(&fdt, n, "bulkhead,peer"), "gamma");
	CHECK(fdt_read_u32(&fdt, n, "bulkhead,role", &v) && v == 1);
	free(b);
}

TEST(guest_dtb_ivc_too_many)
{
	struct guest_dtb g = with_ivc;
	u8 buf[4096];

	g.nr_ivc = GUEST_DTB_MAX_IVC + 1;
	CHECK_EQ(guest_dtb_build(buf, sizeof(buf), &g), 0);
}
