/* Bulkhead test guests: a minimal GICv3 driver (see gic.h). */
#include "gic.h"
#include "guest.h"

#define RWP_TIMEOUT_MS 1000

int gicd_wait_rwp(void)
{
	uint64_t deadline = time_ms() + RWP_TIMEOUT_MS;

	while (gic_read32(GICD_BASE + GICD_CTLR) & GICD_CTLR_RWP)
		if (time_ms() > deadline)
			return -1;
	return 0;
}

int gicr_wait_rwp(uint64_t rd)
{
	uint64_t deadline = time_ms() + RWP_TIMEOUT_MS;

	while (gic_read32(rd + GICR_CTLR) & GICR_CTLR_RWP)
		if (time_ms() > deadline)
			return -1;
	return 0;
}

uint32_t gicd_init(void)
{
	uint32_t ctlr = gic_read32(GICD_BASE + GICD_CTLR);
	uint32_t ds = ctlr & GICD_CTLR_DS;
	uint32_t typer = gic_read32(GICD_BASE + GICD_TYPER);
	unsigned nirqs = (GICD_TYPER_ITLINES(typer) + 1) * 32;

	if (nirqs > 1020)
		nirqs = 1020;
	/* off first (DS kept: it is RAO/WI or write-once), then configure the SPIs */
	gic_write32(GICD_BASE + GICD_CTLR, ds);
	gicd_wait_rwp();
	for (unsigned i = 32; i < nirqs; i += 32) {
		gic_write32(GICD_BASE + GICD_IGROUPR + i / 8, ~0u);
		gic_write32(GICD_BASE + GICD_ICACTIVER + i / 8, ~0u);
		gic_write32(GICD_BASE + GICD_ICENABLER + i / 8, ~0u);
	}
	gicd_wait_rwp();
	for (unsigned i = 32; i < nirqs; i += 4)
		gic_write32(GICD_BASE + GICD_IPRIORITYR + i, 0x01010101u * GIC_DEFAULT_PRIO);
	/* affinity routing on while both groups are off, then Group 1 on */
	gic_write32(GICD_BASE + GICD_CTLR, ds | GICD_CTLR_ARE);
	gicd_wait_rwp();
	gic_write32(GICD_BASE + GICD_CTLR, ds | GICD_CTLR_ARE | GICD_CTLR_ENABLE_G1);
	gicd_wait_rwp();
	return gic_read32(GICD_BASE + GICD_CTLR);
}

unsigned gicr_walk(void (*fn)(unsigned idx, uint64_t rd, uint64_t typer, void *arg), void *arg)
{
	uint64_t rd = GICR_BASE;
	unsigned n = 0;

	while (n < GICR_MAX_FRAMES) {
		uint32_t rev = GIC_PIDR2_ARCHREV(gic_read32(rd + GICR_PIDR2));

		if (rev != 3 && rev != 4)
			break;
		uint64_t typer = gic_read64(rd + GICR_TYPER);

		if (fn)
			fn(n, rd, typer, arg);
		n++;
		if (typer & GICR_TYPER_LAST)
			break;
		rd += 0x20000;
		if (typer & GICR_TYPER_VLPIS) /* GICv4: two more 64 KiB frames */
			rd += 0x20000;
	}
	return n;
}

struct find_arg {
	uint32_t aff;
	uint64_t rd;
};

static void find_fn(unsigned idx, uint64_t rd, uint64_t typer, void *arg)
{
	struct find_arg *a = arg;

	(void)idx;
	if (!a->rd && GICR_TYPER_AFF(typer) == a->aff)
		a->rd = rd;
}

uint64_t gicr_find(uint64_t mpidr)
{
	struct find_arg a = { gic_mpidr_to_aff(mpidr), 0 };

	gicr_walk(find_fn, &a);
	return a.rd;
}

int gicr_wake(uint64_t rd)
{
	uint64_t deadline = time_ms() + RWP_TIMEOUT_MS;
	uint32_t waker = gic_read32(rd + GICR_WAKER);

	gic_write32(rd + GICR_WAKER, waker & ~GICR_WAKER_PROCESSOR_SLEEP);
	while (gic_read32(rd + GICR_WAKER) & GICR_WAKER_CHILDREN_ASLEEP)
		if (time_ms() > deadline)
			return -1;
	return 0;
}

void gicr_init_private(uint64_t rd)
{
	gic_write32(rd + GICR_ICACTIVER0, ~0u);
	gic_write32(rd + GICR_ICENABLER0, ~0u);
	gicr_wait_rwp(rd);
	gic_write32(rd + GICR_IGROUPR0, ~0u);
	for (unsigned i = 0; i < 32; i += 4)
		gic_write32(rd + GICR_IPRIORITYR + i, 0x01010101u * GIC_DEFAULT_PRIO);
}

void gic_set_priority(uint64_t rd, unsigned intid, uint8_t prio)
{
	gic_write8(rd + GICR_IPRIORITYR + (intid & 31), prio);
}

uint8_t gic_get_priority(uint64_t rd, unsigned intid)
{
	return gic_read8(rd + GICR_IPRIORITYR + (intid & 31));
}

void gic_enable(uint64_t rd, unsigned intid)
{
	gic_write32(rd + GICR_ISENABLER0, 1u << (intid & 31));
}

void gic_disable(uint64_t rd, unsigned intid)
{
	gic_write32(rd + GICR_ICENABLER0, 1u << (intid & 31));
	gicr_wait_rwp(rd);
}

uint64_t gic_cpu_init(void)
{
	uint64_t sre = gic_sysreg_read(SYS_ICC_SRE_EL1);

	if (!(sre & ICC_SRE_SRE)) {
		gic_sysreg_write(SYS_ICC_SRE_EL1, sre | ICC_SRE_SRE);
		isb();
		sre = gic_sysreg_read(SYS_ICC_SRE_EL1);
	}
	gic_sysreg_write(SYS_ICC_PMR_EL1, 0xff);
	gic_sysreg_write(SYS_ICC_BPR1_EL1, 0);
	uint64_t ctlr = gic_sysreg_read(SYS_ICC_CTLR_EL1);

	gic_sysreg_write(SYS_ICC_CTLR_EL1, ctlr & ~(uint64_t)ICC_CTLR_EOIMODE);
	isb();
	gic_sysreg_write(SYS_ICC_IGRPEN1_EL1, 1);
	isb();
	return sre;
}

void gic_send_sgi(unsigned intid, uint64_t mpidr)
{
	uint64_t aff0 = mpidr & 0xff, aff1 = (mpidr >> 8) & 0xff;
	uint64_t aff2 = (mpidr >> 16) & 0xff, aff3 = (mpidr >> 32) & 0xff;
	uint64_t v = aff3 << 48 | (aff0 >> 4) << 44 | aff2 << 32 | (uint64_t)(intid & 0xf) << 24 |
		     aff1 << 16 | 1ull << (aff0 & 0xf);

	__asm__ volatile("dsb sy" ::: "memory"); /* earlier stores visible to the target first */
	gic_sysreg_write(SYS_ICC_SGI1R_EL1, v);
	isb();
}
