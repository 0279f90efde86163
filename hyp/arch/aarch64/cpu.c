/* Per-CPU EL2 setup (what traps, how the guest's view is configured), secondary CPU start
 * through the firmware's PSCI, and idling. */
#include <arch/cpu.h>
#include <arch/sysreg.h>
#include <arch/vgic.h>
#include <bulkhead/arch.h>
#include <bulkhead/log.h>
#include <bulkhead/pcpu.h>
#include <bulkhead/platform.h>
#include <drivers/gicv3.h>
#include <drivers/pl011.h>

extern char secondary_entry[];

/* What every guest runs with. Traps: WFI/WFE, SMC, ID registers (to hide features we do not
 * virtualize), implementation-defined and auxiliary control registers, set/way cache ops.
 * Physical IRQ/FIQ/SError go to EL2. */
#define HCR_GUEST (HCR_VM | HCR_SWIO | HCR_FMO | HCR_IMO | HCR_AMO | HCR_FB | HCR_BSU_IS | \
		   HCR_TWI | HCR_TWE | HCR_TID3 | HCR_TSC | HCR_TIDCP | HCR_TACR | HCR_TSW |  \
		   HCR_RW | HCR_TLOR)

/* VTCR_EL2: T0SZ 25 (39-bit IPA), start level 1, WBWA, inner shareable, 4 KiB, RES1 bit 31. */
static u64 vtcr_value(void)
{
	u64 ps = MIN(read_sysreg(id_aa64mmfr0_el1) & 0xF, 5ULL);

	return 25 | (1ULL << 6) | (1ULL << 8) | (1ULL << 10) | (3ULL << 12) | (ps << 16) | BIT(31);
}

u64 arch_cpu_hwid(void)
{
	return read_sysreg(mpidr_el1) & 0xFF00FFFFFFULL;
}

void arch_irq_init(const struct platform *pl)
{
	gic_init(pl->gicd.base, pl->gicr.base, pl->gicr.size);
	if (pl->uart_irq) {
		gic_enable_spi(pl->uart_irq, pl->cpu_hwid[0]);
		pl011_enable_rx_irq();
	}
}

void arch_cpu_init(struct pcpu *p)
{
	if (!gic_init_cpu(p->id, p->hwid))
		panic("CPU %u (MPIDR 0x%lx): no GIC redistributor", p->id, p->hwid);
	write_sysreg(hcr_el2, HCR_GUEST);
	/* FP/SIMD is the guest's (switched eagerly); SVE, SME, trace and AMU trap. */
	write_sysreg(cptr_el2, CPTR_RES1 | CPTR_TZ | CPTR_TSM | CPTR_TTA | CPTR_TAM);
	/* Debug and PMU registers trap: a guest sees them as absent (sysreg_trap.c). */
	write_sysreg(mdcr_el2, MDCR_TPMCR | MDCR_TPM | MDCR_TDA | MDCR_TDOSA | MDCR_TDRA);
	/* The guest may read the physical counter; the EL1 physical timer traps (vptimer.c). */
	write_sysreg(cnthctl_el2, CNTHCTL_EL1PCTEN);
	write_sysreg(vtcr_el2, vtcr_value());
	write_sysreg(vpidr_el2, read_sysreg(midr_el1));
	write_sysreg(cnthp_ctl_el2, 0);
	isb();
	gic_set_local(p->id, SGI_KICK, true);
	gic_set_local(p->id, SGI_HALT, true);
	gic_set_local(p->id, plat.hyp_timer_irq, true);
	gic_set_local(p->id, VIRQ_MAINT, true);
	gic_set_local(p->id, VIRQ_VTIMER, true);
	write_sysreg(ICH_HCR_EL2, 0);
	vgic_probe();
}

/* Calls the firmware's PSCI (SMC or HVC conduit, as the device tree says). */
static s64 firmware_psci(u64 fid, u64 a1, u64 a2, u64 a3)
{
	register u64 x0 __asm__("x0") = fid;
	register u64 x1 __asm__("x1") = a1;
	register u64 x2 __asm__("x2") = a2;
	register u64 x3 __asm__("x3") = a3;

	if (plat.psci_hvc)
		__asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
	else
		__asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
	return (s64)x0;
}

int arch_cpu_start(const struct platform *pl, struct pcpu *p)
{
	(void)pl;
	/* The new CPU starts with its MMU off: make what it reads first visible in memory. */
	__asm__ volatile("dc civac, %0" : : "r"(p) : "memory");
	dsb(sy);
	s64 r = firmware_psci(0xC4000003, p->hwid, (u64)(uintptr_t)secondary_entry, p->id);
	return r == 0 ? 0 : (int)r;
}

void arch_wait_for_interrupt(void)
{
	dsb(sy);
	wfi();
}

void arch_cpu_relax(void)
{
	__asm__ volatile("yield" ::: "memory");
}

_Noreturn void arch_halt(void)
{
	for (;;)
		wfi();
}

void arch_halt_others(void)
{
	for (u32 i = 0; i < nr_pcpus; i++)
		if (pcpus[i].online && &pcpus[i] != this_pcpu())
			gic_send_sgi(pcpus[i].hwid, SGI_HALT);
}

void arch_kick(u32 cpu)
{
	gic_send_sgi(pcpus[cpu].hwid, SGI_KICK);
}

u64 arch_counter(void)
{
	isb();
	return read_sysreg(cntpct_el0);
}

u64 arch_counter_hz(void)
{
	return read_sysreg(cntfrq_el0);
}

void arch_timer_program(u64 deadline)
{
	if (!deadline) {
		write_sysreg(cnthp_ctl_el2, 0);
		return;
	}
	write_sysreg(cnthp_cval_el2, deadline);
	write_sysreg(cnthp_ctl_el2, 1);
	isb();
}
