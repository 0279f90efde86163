/* Physical GICv3 driver: affinity routing, Group 1 interrupts, EOImode 1 (priority drop and
 * deactivation apart, so a passed-through SPI can stay active until its guest completes it).
 * QEMU runs without EL3 here, so the GIC has a single security state (GICD_CTLR.DS = 1). */
#include <arch/sysreg.h>
#include <bulkhead/io.h>
#include <drivers/gicv3.h>

#define GICD_CTLR 0x0000
#define GICD_TYPER 0x0004
#define GICD_IGROUPR 0x0080
#define GICD_ISENABLER 0x0100
#define GICD_ICENABLER 0x0180
#define GICD_ICPENDR 0x0280
#define GICD_ICACTIVER 0x0380
#define GICD_ICFGR 0x0C00
#define GICD_IPRIORITYR 0x0400
#define GICD_IROUTER 0x6100
#define GICD_CTLR_RWP (1u << 31)
#define GICD_CTLR_ARE (1u << 4)
#define GICD_CTLR_GRP1 (1u << 1)

#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_SGI 0x10000
#define GICR_IGROUPR0 (GICR_SGI + 0x0080)
#define GICR_ISENABLER0 (GICR_SGI + 0x0100)
#define GICR_ICENABLER0 (GICR_SGI + 0x0180)
#define GICR_IPRIORITYR0 (GICR_SGI + 0x0400)
#define GICR_STRIDE 0x20000
#define GICR_TYPER_LAST (1u << 4)

#define PRIO_DEFAULT 0xA0
#define ICC_CTLR_EOIMODE (1u << 1)

static paddr_t gicd, gicr_base;
static u64 gicr_len;
static paddr_t rd_of_cpu[GIC_MAX_CPUS]; /* redistributor of each CPU index */

static u64 aff_of(u64 hwid)
{
	return (hwid & 0xFFFFFF) | ((hwid >> 32) & 0xFF) << 24;
}

static void dist_wait(void)
{
	while (io_read32(gicd + GICD_CTLR) & GICD_CTLR_RWP)
		;
}

void gic_init(paddr_t d, paddr_t r, u64 rsize)
{
	gicd = d;
	gicr_base = r;
	gicr_len = rsize;
	u32 lines = ((io_read32(gicd + GICD_TYPER) & 0x1F) + 1) * 32;

	io_write32(gicd + GICD_CTLR, 0);
	dist_wait();
	for (u32 i = 32; i < lines; i += 32) {
		io_write32(gicd + GICD_ICENABLER + i / 8, 0xFFFFFFFF);
		io_write32(gicd + GICD_IGROUPR + i / 8, 0xFFFFFFFF);
	}
	for (u32 i = 32; i < lines; i += 4)
		io_write32(gicd + GICD_IPRIORITYR + i, PRIO_DEFAULT * 0x01010101u);
	dist_wait();
	io_write32(gicd + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_GRP1);
	dist_wait();
}

static paddr_t find_redist(u64 hwid)
{
	for (paddr_t r = gicr_base; r + GICR_STRIDE <= gicr_base + gicr_len; r += GICR_STRIDE) {
		u64 typer = io_read64(r + GICR_TYPER);

		if ((typer >> 32) == aff_of(hwid))
			return r;
		if (typer & GICR_TYPER_LAST)
			break;
	}
	return 0;
}

bool gic_init_cpu(u32 cpu, u64 hwid)
{
	paddr_t r = cpu < GIC_MAX_CPUS ? find_redist(hwid) : 0;

	if (!r)
		return false;
	rd_of_cpu[cpu] = r;
	/* Wake the redistributor: QEMU delivers nothing to a sleeping one. */
	io_write32(r + GICR_WAKER, io_read32(r + GICR_WAKER) & ~2u);
	while (io_read32(r + GICR_WAKER) & 4u)
		;
	io_write32(r + GICR_ICENABLER0, 0xFFFFFFFF);
	io_write32(r + GICR_IGROUPR0, 0xFFFFFFFF);
	for (u32 i = 0; i < 32; i += 4)
		io_write32(r + GICR_IPRIORITYR0 + i, PRIO_DEFAULT * 0x01010101u);

	write_sysreg(ICC_SRE_EL2, read_sysreg(ICC_SRE_EL2) | 0x9); /* SRE, Enable (EL1 access) */
	isb();
	write_sysreg(ICC_PMR_EL1, 0xFF);
	write_sysreg(ICC_BPR1_EL1, 0);
	/* EOImode 1: EOIR only drops the priority; DIR (or a guest's EOI through a hardware
	 * list register) deactivates. */
	write_sysreg(ICC_CTLR_EL1, ICC_CTLR_EOIMODE);
	write_sysreg(ICC_IGRPEN1_EL1, 1);
	isb();
	return true;
}

void gic_set_local(u32 cpu, u32 intid, bool enable)
{
	paddr_t r = rd_of_cpu[cpu];

	if (r && intid < 32)
		io_write32(r + (enable ? GICR_ISENABLER0 : GICR_ICENABLER0), 1u << intid);
}

void gic_enable_spi(u32 intid, u64 hwid)
{
	if (intid < 32 || intid >= 1020)
		return;
	io_write64(gicd + GICD_IROUTER + (intid - 32) * 8,
		   (hwid & 0xFFFFFF) | (((hwid >> 32) & 0xFF) << 32));
	io_write32(gicd + GICD_ISENABLER + (intid / 32) * 4, 1u << (intid % 32));
}

u32 gic_ack(void)
{
	u32 intid = (u32)read_sysreg(ICC_IAR1_EL1) & 0xFFFFFF;

	__asm__ volatile("dsb sy" ::: "memory");
	return intid;
}

void gic_eoi(u32 intid)
{
	write_sysreg(ICC_EOIR1_EL1, intid);
	isb();
	write_sysreg(ICC_DIR_EL1, intid);
	isb();
}

void gic_drop(u32 intid)
{
	write_sysreg(ICC_EOIR1_EL1, intid);
	isb();
}

u32 gic_nr_lines(void)
{
	u32 lines = ((io_read32(gicd + GICD_TYPER) & 0x1F) + 1) * 32;

	return MIN(lines, 1020u);
}

static void spi_bit(u32 reg, u32 intid)
{
	io_write32(gicd + reg + (intid / 32) * 4, 1u << (intid % 32));
}

void gic_spi_quiesce(u32 intid)
{
	if (intid < 32 || intid >= 1020)
		return;
	spi_bit(GICD_ICENABLER, intid);
	dist_wait();
	spi_bit(GICD_ICPENDR, intid);
	spi_bit(GICD_ICACTIVER, intid);
}

void gic_spi_setup(u32 intid, u64 hwid)
{
	u32 cfg;

	if (intid < 32 || intid >= 1020)
		return;
	gic_spi_quiesce(intid);
	cfg = io_read32(gicd + GICD_ICFGR + (intid / 16) * 4);
	io_write32(gicd + GICD_ICFGR + (intid / 16) * 4, cfg & ~(2u << (2 * (intid % 16))));
	io_write64(gicd + GICD_IROUTER + (intid - 32) * 8,
		   (hwid & 0xFFFFFF) | (((hwid >> 32) & 0xFF) << 32));
}

void gic_spi_enable(u32 intid, bool enable)
{
	if (intid < 32 || intid >= 1020)
		return;
	spi_bit(enable ? GICD_ISENABLER : GICD_ICENABLER, intid);
}

void gic_spi_deactivate(u32 intid)
{
	if (intid >= 32 && intid < 1020)
		spi_bit(GICD_ICACTIVER, intid);
}

void gic_send_sgi(u64 hwid, u32 sgi)
{
	u64 v = ((hwid >> 8) & 0xFF) << 16          /* Aff1 */
		| ((hwid >> 16) & 0xFF) << 32       /* Aff2 */
		| ((hwid >> 32) & 0xFF) << 48       /* Aff3 */
		| (u64)(sgi & 0xF) << 24 | (1ULL << (hwid & 0xF)); /* target list: Aff0 < 16 */

	dsb(ishst);
	write_sysreg(ICC_SGI1R_EL1, v);
	isb();
}
