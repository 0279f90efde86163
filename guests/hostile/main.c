/* hostile: a guest that does what a guest should not, checks that each attempt fails the way
 * the architecture (and docs/config.md) says, and runs on. Every check prints one line
 * "hostile: <tag>: <what happened>: ok" (or "...: FAIL expected <what>"); a fault is shown as
 * "fault esr 0x... far 0x..." (the synchronous exception the guest took). The checks:
 *
 *   a-uart-ldr64      8-byte read of the PL011 DR (the vUART takes 1..4 bytes): external abort
 *   b-uart-ldp        LDP from the PL011 (no valid syndrome, cannot be emulated): external abort
 *   c-jump            BLR to 0x30000000 (not RAM): instruction abort, EC 0x21, IFSC 0x10, FAR and
 *                     ELR 0x30000000; the handler resumes at the saved return address (x30)
 *   d-pmcr            PMCR_EL0 reads as 0, no fault
 *   d-pfr0, d-pfr1    ID_AA64PFR0_EL1.SVE (35:32) and ID_AA64PFR1_EL1.SME (27:24) are 0
 *   d-zfr0            ID_AA64ZFR0_EL1 is 0
 *   e-sve             CNTW X0 (SVE) with CPACR_EL1.ZEN/FPEN enabled: undefined (EC 0x00)
 *   f-cntp            EL1 physical timer (emulated): TVAL, CTL, ISTATUS after 1 ms, no fault
 *   g-flood           100000 reads of 0x20000000 (no RAM or device): 100000 external aborts
 *   h-cpu-on-entry    CPU_ON(vCPU 1, entry 0x30000000) = -9 (INVALID_ADDRESS), and the same for
 *   h-cpu-on-past-ram entry 0x41000000 (just past 16 MiB of RAM) and
 *   h-cpu-on-unaligned entry 0x40080002
 *   h-cpu1-still-off  AFFINITY_INFO(vCPU 1, level 0) = 1 (OFF) after those
 *   h-affinity-level1 AFFINITY_INFO(vCPU 0, level 1) = -2 (INVALID_PARAMETERS)
 *   h-unknown-fid     function id 0x8600ABCD = -1 (NOT_SUPPORTED), by HVC and by SMC
 *   h-smc-version     PSCI_VERSION by SMC = by HVC = 0x10001
 *
 * Then "hostile: done N checks, F failures" and ticks like the ticker guest. Meant for a VM with
 * 2 vCPUs (vCPU 1 is never started) and 16 MiB of RAM at 0x40000000. */
#include "guest.h"

#define UART_DR (UART_BASE + UARTDR)
#define NOT_RAM 0x30000000UL
#define HOLE 0x20000000UL
#define RAM_END (0x40000000UL + 16 * 1024 * 1024)
#define FLOOD 100000
#define UNKNOWN_FID 0x8600ABCDu
#define PSCI_INVALID_ADDRESS (-9)

#define EC_UNKNOWN 0x00
#define EC_IABT_CUR 0x21
#define EC_DABT_CUR 0x25
#define FSC_EXTERNAL 0x10

/* The last synchronous exception the hook handled. */
static volatile unsigned long faults;
static volatile uint64_t last_esr, last_far, last_elr;


static int hook(struct exc_frame *f)
{
	if (f->kind != EXC_SYNC_CUR_SPX)
		return 0;
	last_esr = f->esr;
	last_far = f->far;
	last_elr = f->elr;
	faults++;
	if (ESR_EC(f->esr) == EC_IABT_CUR)
		f->elr = f->x[30]; /* a branch-and-link went nowhere: back to its return address */
	else
		f->elr += 4; /* skip the faulting instruction */
	return 1;
}

/* One check's line: "hostile: <tag>: <what>: ok|FAIL" (guests/lib: check_result). */
#define result(tag, ok, ...) check_result("hostile", tag, ok, __VA_ARGS__)

/* Checks that exactly one synchronous exception with class ec (and, for aborts, fault status
 * FSC_EXTERNAL and address far) happened since `before`. */
static void expect_fault(const char *tag, unsigned long before, unsigned ec, uint64_t far,
			 const char *expected)
{
	uint64_t esr = last_esr;
	int ok = faults == before + 1 && ESR_EC(esr) == ec;

	if (faults == before) {
		result(tag, 0, "no fault (expected %s)", expected);
		return;
	}
	if (ec == EC_DABT_CUR || ec == EC_IABT_CUR)
		ok = ok && ESR_DFSC(esr) == FSC_EXTERNAL && last_far == far && !(esr & ESR_WNR);
	result(tag, ok, "fault esr 0x%lx far 0x%lx (expected %s)", esr, last_far, expected);
}

static void uart_abuse(void)
{
	unsigned long before = faults;
	uint64_t v0 = 0x1111, v1 = 0x2222;

	__asm__ volatile("ldr %0, [%1]" : "+r"(v0) : "r"(UART_DR) : "memory");
	expect_fault("a-uart-ldr64", before, EC_DABT_CUR, UART_DR, "external abort");

	before = faults;
	__asm__ volatile("ldp %0, %1, [%2]" : "+r"(v0), "+r"(v1) : "r"(UART_DR) : "memory");
	expect_fault("b-uart-ldp", before, EC_DABT_CUR, UART_DR, "external abort");
}

static void jump_outside_ram(void)
{
	unsigned long before = faults;

	/* x30 holds the return address when the fetch at NOT_RAM faults */
	__asm__ volatile("blr %0"
			 :
			 : "r"(NOT_RAM)
			 : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",
			   "x12", "x13", "x14", "x15", "x16", "x17", "x30", "memory", "cc");
	expect_fault("c-jump", before, EC_IABT_CUR, NOT_RAM, "instruction abort");
	if (faults != before && last_elr != NOT_RAM)
		result("c-jump-elr", 0, "elr 0x%lx (expected 0x%lx)", last_elr, NOT_RAM);
}

static void id_registers(void)
{
	unsigned long before = faults;
	uint64_t pmcr = ~0ul, pfr0, pfr1, zfr0;

	__asm__ volatile("mrs %0, pmcr_el0" : "=r"(pmcr));
	result("d-pmcr", pmcr == 0 && faults == before, "0x%lx, %s (expected 0x0, no fault)",
	       pmcr, faults == before ? "no fault" : "fault");

	before = faults;
	__asm__ volatile("mrs %0, id_aa64pfr0_el1" : "=r"(pfr0));
	__asm__ volatile("mrs %0, id_aa64pfr1_el1" : "=r"(pfr1));
	__asm__ volatile("mrs %0, S3_0_C0_C4_4" : "=r"(zfr0)); /* ID_AA64ZFR0_EL1 */
	result("d-pfr0", ((pfr0 >> 32) & 0xf) == 0 && faults == before, "0x%lx sve %lu", pfr0,
	       (pfr0 >> 32) & 0xf);
	result("d-pfr1", ((pfr1 >> 24) & 0xf) == 0 && faults == before, "0x%lx sme %lu", pfr1,
	       (pfr1 >> 24) & 0xf);
	result("d-zfr0", zfr0 == 0 && faults == before, "0x%lx", zfr0);
}

static void sve_and_timer(void)
{
	unsigned long before;

	/* SVE and FP/SIMD enabled at EL1, so the guest's own CPACR_EL1 does not trap CNTW: only
	 * the hypervisor can refuse it */
	__asm__ volatile("msr cpacr_el1, %0; isb" : : "r"((3ul << 20) | (3ul << 16)));
	before = faults;
	__asm__ volatile(".inst 0x04a0e3e0 /* cntw x0 */" : : : "x0");
	expect_fault("e-sve", before, EC_UNKNOWN, 0, "undefined instruction");
	__asm__ volatile("msr cpacr_el1, xzr; isb");

	/* The EL1 physical timer is emulated: program it 1 ms ahead, watch ISTATUS rise. */
	unsigned long cval, tval, ctl0, ctl1 = 0, now, spins = 0;
	before = faults;
	__asm__ volatile("isb; mrs %0, cntpct_el0" : "=r"(now));
	cval = now + read_cntfrq() / 1000;
	__asm__ volatile("msr cntp_cval_el0, %0; msr cntp_ctl_el0, %1; isb"
			 : : "r"(cval), "r"(3ul)); /* enabled, interrupt masked */
	__asm__ volatile("mrs %0, cntp_tval_el0; mrs %1, cntp_ctl_el0" : "=r"(tval), "=r"(ctl0));
	while (!(ctl1 & 4) && ++spins < 100000000)
		__asm__ volatile("mrs %0, cntp_ctl_el0" : "=r"(ctl1));
	__asm__ volatile("isb; mrs %0, cntpct_el0" : "=r"(now));
	__asm__ volatile("msr cntp_ctl_el0, xzr");
	result("f-cntp", faults == before && (ctl0 & 7) == 3 && (ctl1 & 7) == 7 && now >= cval &&
				 (tval & 0xFFFFFFFFul) <= read_cntfrq() / 1000,
	       "tval 0x%lx ctl 0x%lx then 0x%lx, counter past cval %d, faults %lu", tval, ctl0,
	       ctl1, now >= cval, faults - before);
}

static void flood(void)
{
	unsigned long before = faults;
	uint64_t esr = 0;

	for (unsigned i = 0; i < FLOOD; i++) {
		uint32_t v = 0;

		__asm__ volatile("ldr %w0, [%1]" : "+r"(v) : "r"(HOLE) : "memory");
		if (i == 0)
			esr = last_esr;
	}
	result("g-flood", faults - before == FLOOD && ESR_EC(esr) == EC_DABT_CUR,
	       "%u reads of 0x%lx, %lu faults, first esr 0x%lx", FLOOD, HOLE, faults - before, esr);
}

static int64_t smccc_smc(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fn;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;

	__asm__ volatile("smc #0"
			 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
			 :
			 : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
			   "x15", "x16", "x17", "memory");
	return (int64_t)x0;
}

static void psci_abuse(void)
{
	static const struct {
		const char *tag;
		uint64_t entry;
	} bad_entries[] = {
		{ "h-cpu-on-entry", NOT_RAM },
		{ "h-cpu-on-past-ram", RAM_END },
		{ "h-cpu-on-unaligned", 0x40080002UL },
	};
	unsigned long before = faults;
	int64_t r, hvc;

	for (unsigned i = 0; i < sizeof(bad_entries) / sizeof(bad_entries[0]); i++) {
		r = psci_cpu_on(1, bad_entries[i].entry, 0);
		result(bad_entries[i].tag, r == PSCI_INVALID_ADDRESS,
		       "cpu_on(0x1, 0x%lx) = %ld (expected -9)", bad_entries[i].entry, r);
	}
	r = psci_affinity_info(1, 0);
	result("h-cpu1-still-off", r == AFF_OFF, "affinity_info(0x1, 0) = %ld (expected 1)", r);
	r = psci_affinity_info(0, 1);
	result("h-affinity-level1", r == PSCI_INVALID_PARAMETERS,
	       "affinity_info(0x0, 1) = %ld (expected -2)", r);
	hvc = smccc_hvc(UNKNOWN_FID, 0, 0, 0);
	r = smccc_smc(UNKNOWN_FID, 0, 0, 0);
	result("h-unknown-fid", hvc == PSCI_NOT_SUPPORTED && r == PSCI_NOT_SUPPORTED,
	       "0x%x = %ld by hvc, %ld by smc (expected -1)", UNKNOWN_FID, hvc, r);
	hvc = psci_version();
	r = smccc_smc(PSCI_VERSION, 0, 0, 0);
	result("h-smc-version", r == hvc && r == 0x10001, "smc 0x%lx, hvc 0x%lx (expected 0x10001)",
	       (uint64_t)r, (uint64_t)hvc);
	if (faults != before)
		result("h-no-fault", 0, "%lu faults during PSCI calls", faults - before);
}

int main(void)
{
	exc_set_hook(hook);
	printf("hostile: start\n");
	uart_abuse();
	jump_outside_ram();
	id_registers();
	sve_and_timer();
	flood();
	psci_abuse();
	printf("hostile: done %u checks, %u failures\n", check_count, check_failures);
	tick_forever();
}
