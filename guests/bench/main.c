/* Exit-cost benchmark guest (bench/README.md).
 *
 * Times each kind of VM exit with CNTVCT_EL0 over many iterations and prints one line per
 * operation:
 *
 *     bench: <name> <instructions per operation, 2 decimals> (ticks T n N)
 *
 * Meant for QEMU with `-icount shift=0,sleep=off`: every executed instruction (guest and
 * hypervisor) advances virtual time by 1 ns, and the counter ticks at CNTFRQ (62.5 MHz: one tick
 * per 16 instructions), so instructions = ticks * 1e9 / CNTFRQ. Without -icount the figures are
 * host nanoseconds instead.
 *
 * Each timed loop has the same four-instruction body, `<prep> ; <op> ; subs ; b.ne`, where prep
 * is a nop or the mov an operation needs and op is the instruction under test; floor_loop has a
 * nop in both places. So `figure - floor_loop` is what the one instruction costs, exit included.
 *
 * Modes, chosen by what the VM sees:
 * - PSCI CPU_ON(vCPU 1) succeeds (a 2-vCPU VM): the whole suite, including the virtual IPI
 *   round trip between vCPU 0 and vCPU 1.
 * - CPU_ON fails and HVC is expensive (a hypervisor handles it, 1-vCPU VM): the VM switch
 *   measurement, which expects the benchpeer guest's VM on the same physical CPU.
 * - CPU_ON fails and HVC is cheap (directly on QEMU, -smp 1): the suite without what needs a
 *   second vCPU or a hypervisor (each such line says `skipped`).
 * The last line is `bench: done`; then PSCI SYSTEM_OFF. */
#include "gic.h"
#include "guest.h"

#ifndef N_ITER
#define N_ITER 4000 /* iterations of each timed loop */
#endif
#ifndef N_TIMER_ROUNDS
#define N_TIMER_ROUNDS 200 /* virtual timer interrupts */
#endif
#define TIMER_AHEAD 2000    /* ticks from arming the timer to its deadline (32 us at 62.5 MHz) */
#define HYP_HVC_MIN 50	    /* an HVC costing more instructions than this is handled by a hypervisor */

#define SGI_PING 1 /* vCPU 0 -> vCPU 1 */
#define SGI_PONG 2 /* vCPU 1 -> vCPU 0 */
#define SGI_QUIT 3 /* vCPU 0 -> vCPU 1: leave the responder loop */
#define PPI_VTIMER 27

#define GICD_IPRIORITYR_SPI40 (GICD_BASE + 0x0428)
#define UART_IMSC (UART_BASE + 0x038)

extern char bench_vectors[];

static uint64_t freq;

/* Written by the IRQ handler. */
static volatile uint64_t pong_count, timer_count, timer_stamp, quit_flag;
static volatile uint64_t stray_irqs, last_stray;

static inline uint64_t counter(void)
{
	uint64_t v;

	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v)::"memory");
	return v;
}

static inline void vtimer_arm(uint64_t cval)
{
	__asm__ volatile("msr cntv_cval_el0, %0; msr cntv_ctl_el0, %1; isb" ::"r"(cval), "r"(1ull)
			 : "memory");
}

static inline void vtimer_off(void)
{
	__asm__ volatile("msr cntv_ctl_el0, xzr; isb" ::: "memory");
}

static inline void set_vbar(void *v)
{
	__asm__ volatile("msr vbar_el1, %0; isb" ::"r"(v) : "memory");
}

/* ticks -> instructions x100 per operation, rounded: ticks * 1e9 / freq * 100 / n, in 64 bits
 * for any counter frequency up to ~180 MHz. */
static uint64_t per_op_x100(uint64_t ticks, uint64_t n)
{
	uint64_t ns_x100 = ticks / freq * 100000000000ull + ticks % freq * 100000000000ull / freq;

	return (ns_x100 + n / 2) / n;
}

static void report(const char *name, uint64_t ticks, uint64_t n)
{
	uint64_t v = per_op_x100(ticks, n);

	printf("bench: %s %lu.%02lu (ticks %lu n %lu)\n", name, v / 100, v % 100, ticks, n);
}

static void skipped(const char *name, const char *why)
{
	printf("bench: %s skipped (%s)\n", name, why);
}

/* ---- the timed loops: <prep> ; <op> ; subs ; b.ne, N_ITER times ----
 * Each operation is its own non-inlined op_<name>() function, so an instruction trace can be cut
 * into operations by the guest's program counter (bench/profile.py). */

#define OP __attribute__((noinline))

#define TIMED(body, ...)                                                                          \
	({                                                                                        \
		uint64_t __n = N_ITER, __t0 = counter();                                          \
		__asm__ volatile("1:\n" body "\n\tsubs %[n], %[n], #1\n\tb.ne 1b"                 \
				 : [n] "+r"(__n)__VA_ARGS__);                                     \
		counter() - __t0;                                                                 \
	})

#define TIMED_READ32(addr) TIMED("\tnop\n\tldr w9, [%[a]]", : [a] "r"(addr) : "x9", "memory")
#define TIMED_WRITE32(addr, val)                                                                  \
	TIMED("\tnop\n\tstr %w[v], [%[a]]", : [a] "r"(addr), [v] "r"(val) : "memory")
#define TIMED_WFI() TIMED("\tnop\n\twfi", : : "memory")

OP static uint64_t op_floor_loop(void)
{
	return TIMED("\tnop\n\tnop", : : "memory");
}

OP static uint64_t op_hvc_psci_version(void)
{
	/* PSCI_VERSION = 0x84000000: one movz; x0 comes back as the version, so set it each time */
	return TIMED("\tmov w0, #0x84000000\n\thvc #0", : : "x0", "x1", "x2", "x3", "memory");
}

OP static uint64_t op_mmio_read_gicd_typer(void)
{
	return TIMED_READ32(GICD_BASE + GICD_TYPER);
}

OP static uint64_t op_mmio_write_gicd(uint32_t same)
{
	return TIMED_WRITE32(GICD_IPRIORITYR_SPI40, same);
}

OP static uint64_t op_mmio_read_uart_fr(void)
{
	return TIMED_READ32(UART_BASE + UARTFR);
}

OP static uint64_t op_mmio_write_uart_imsc(uint32_t same)
{
	return TIMED_WRITE32(UART_IMSC, same);
}

/* A carriage return to the data register: the whole transmit path of the emulated UART, but
 * Bulkhead drops CR from console lines, so 4000 of them print nothing. */
OP static uint64_t op_mmio_write_uart_dr(void)
{
	return TIMED_WRITE32(UART_BASE + UARTDR, '\r');
}

OP static uint64_t op_wfe(void)
{
	return TIMED("\tnop\n\twfe", : : "memory");
}

/* ---- interrupts ---- */

static uint64_t my_rd;	  /* vCPU 0's redistributor */
static uint64_t peer_rd;  /* vCPU 1's redistributor */
static uint64_t vcpu0_mpidr, vcpu1_mpidr;

void bench_irq(uint64_t stamp);

/* Called from the IRQ vector in vectors.S with CNTVCT_EL0 as read at entry. */
void bench_irq(uint64_t stamp)
{
	uint32_t intid = gic_ack();

	if (intid >= GIC_INTID_SPURIOUS)
		return;
	if (intid == PPI_VTIMER) {
		timer_stamp = stamp;
		vtimer_off(); /* the line drops before the EOI */
		timer_count++;
	} else if (intid == SGI_PING) {
		gic_send_sgi(SGI_PONG, vcpu0_mpidr);
	} else if (intid == SGI_PONG) {
		pong_count++;
	} else if (intid == SGI_QUIT) {
		quit_flag = 1;
	} else {
		stray_irqs++;
		last_stray = intid;
	}
	gic_eoi(intid);
}

/* Waits for *p to differ from old: WFI with IRQs masked (a pending interrupt still ends it),
 * then a window with IRQs unmasked to take it, so an interrupt between the test and the WFI is
 * never lost. Returns with IRQs masked. */
static void wait_change(volatile uint64_t *p, uint64_t old)
{
	while (*p == old) {
		wfi();
		irq_unmask();
		__asm__ volatile("isb" ::: "memory");
		irq_mask();
	}
}

static int gic_setup_this_cpu(uint64_t *rd_out)
{
	uint64_t rd = gicr_find(read_mpidr());

	if (!rd || gicr_wake(rd))
		return -1;
	gicr_init_private(rd);
	gicr_wait_rwp(rd);
	gic_enable(rd, SGI_PING);
	gic_enable(rd, SGI_PONG);
	gic_enable(rd, SGI_QUIT);
	gic_cpu_init();
	*rd_out = rd;
	return 0;
}

static volatile uint64_t responder_state; /* 1 = ready, 2 = GIC setup failed, 3 = left */

/* vCPU 1: answers every PING with a PONG from its interrupt handler until QUIT. */
static void responder(uint64_t arg)
{
	(void)arg;
	set_vbar(bench_vectors);
	if (gic_setup_this_cpu(&peer_rd)) {
		responder_state = 2;
		return;
	}
	irq_mask();
	dsb();
	responder_state = 1;
	dsb();
	wait_change(&quit_flag, 0);
	responder_state = 3;
	/* returning powers this vCPU off (CPU_OFF) */
}

/* ---- the measurements ---- */

OP static void op_ipi_roundtrip(int have_vcpu1)
{
	if (!have_vcpu1) {
		skipped("ipi_roundtrip", "no vCPU 1");
		return;
	}
	uint64_t deadline = time_ms() + 2000;

	while (responder_state == 0 && time_ms() < deadline)
		;
	if (responder_state != 1) {
		printf("bench: ipi_roundtrip FAIL responder state %lu\n", responder_state);
		return;
	}
	/* one warm-up round trip, then the timed ones */
	uint64_t before = pong_count;

	gic_send_sgi(SGI_PING, vcpu1_mpidr);
	wait_change(&pong_count, before);

	uint64_t t0 = counter();

	for (int i = 0; i < N_ITER; i++) {
		before = pong_count;
		gic_send_sgi(SGI_PING, vcpu1_mpidr);
		wait_change(&pong_count, before);
	}
	uint64_t t = counter() - t0;

	report("ipi_roundtrip", t, N_ITER);
	gic_send_sgi(SGI_QUIT, vcpu1_mpidr);
	deadline = time_ms() + 2000;
	while (responder_state != 3 && time_ms() < deadline)
		;
	delay_ms(1);
	if (psci_affinity_info(vcpu1_mpidr, 0) != AFF_OFF)
		printf("bench: note vCPU 1 still on after QUIT (state %lu)\n", responder_state);
}

/* Deadline to the first instruction of the IRQ handler, like the anchors' guest; the vCPU waits
 * in WFI (masked, then a window) so under a hypervisor it is descheduled while it waits. */
OP static void op_vtimer_irq_latency(void)
{
	gic_set_priority(my_rd, PPI_VTIMER, 0x80);
	gic_enable(my_rd, PPI_VTIMER);

	/* settle: idle ~1 s of counter time, so anything else on the machine is idle too */
	uint64_t before = timer_count;

	vtimer_arm(counter() + freq);
	wait_change(&timer_count, before);

	uint64_t total = 0, got = 0, late_max = 0;

	for (int i = 0; i < N_TIMER_ROUNDS; i++) {
		before = timer_count;
		uint64_t deadline = counter() + TIMER_AHEAD;

		vtimer_arm(deadline);
		wait_change(&timer_count, before);
		if (timer_stamp >= deadline) {
			uint64_t late = timer_stamp - deadline;

			total += late;
			got++;
			if (late > late_max)
				late_max = late;
		}
	}
	gic_disable(my_rd, PPI_VTIMER);
	if (got)
		report("vtimer_irq_latency", total, got);
	else
		printf("bench: vtimer_irq_latency FAIL no interrupt after its deadline\n");
	printf("bench: note vtimer rounds %lu of %d, worst %lu ticks\n", got, N_TIMER_ROUNDS,
	       late_max);
}

/* A WFI that cannot block: the virtual timer is enabled with its deadline passed, but its
 * interrupt is disabled in the (virtual) GIC, so it never becomes deliverable. Under Bulkhead
 * the vCPU waits until a deadline already reached: an exit, the WFI bookkeeping and a
 * scheduler pass, which picks the next runnable vCPU of the physical CPU (itself, if alone). */
OP static uint64_t op_wfi_noswitch(void)
{
	vtimer_arm(counter());
	uint64_t t = TIMED_WFI();

	vtimer_off();
	return t;
}

/* The same loop, in the 2-VM system (run_switch). */
OP static uint64_t op_vm_switch(void)
{
	vtimer_arm(counter());
	uint64_t t = TIMED_WFI();

	vtimer_off();
	return t;
}

static void run_suite(int hyp, int have_vcpu1)
{
	uint32_t prio, imsc;

	report("floor_loop", op_floor_loop(), N_ITER);
	report("hvc_psci_version", op_hvc_psci_version(), N_ITER);
	report("mmio_read_gicd_typer", op_mmio_read_gicd_typer(), N_ITER);
	prio = gic_read32(GICD_IPRIORITYR_SPI40);
	report("mmio_write_gicd", op_mmio_write_gicd(prio), N_ITER);
	report("mmio_read_uart_fr", op_mmio_read_uart_fr(), N_ITER);
	imsc = gic_read32(UART_IMSC);
	report("mmio_write_uart_imsc", op_mmio_write_uart_imsc(imsc), N_ITER);
	report("mmio_write_uart_dr", op_mmio_write_uart_dr(), N_ITER);
	report("wfe", op_wfe(), N_ITER);

	/* GIC: distributor, this vCPU's redistributor and CPU interface, our vectors */
	set_vbar(bench_vectors);
	irq_mask();
	uint32_t ctlr = gicd_init();

	if (gic_setup_this_cpu(&my_rd)) {
		printf("bench: FAIL GIC setup (GICD_CTLR 0x%x)\n", ctlr);
		return;
	}
	op_ipi_roundtrip(have_vcpu1);
	op_vtimer_irq_latency();
	if (hyp)
		report("wfi_noswitch", op_wfi_noswitch(), N_ITER);
	else
		skipped("wfi_noswitch", "no hypervisor: WFI would sleep for good");
	skipped("vm_switch", hyp ? "needs the 2-VM system with benchpeer" : "no hypervisor");
}

/* 1-vCPU VM next to benchpeer's VM on the same physical CPU, both at the same priority. Each
 * WFI here exits and the scheduler switches to the peer, whose WFI (same trick) switches back:
 * one loop iteration is two exits and two VM switches. */
static void run_switch(void)
{
	report("floor_loop", op_floor_loop(), N_ITER);
	uint64_t t = op_vm_switch();

	report("vm_switch_roundtrip", t, N_ITER);
	report("vm_switch", t, 2 * N_ITER);
}

int main(void)
{
	freq = read_cntfrq() & 0xffffffffu;
	if (!freq)
		freq = 62500000;
	vcpu0_mpidr = read_mpidr() & 0xff00ffffffull;
	vcpu1_mpidr = (vcpu0_mpidr & ~0xffull) | 1;

	/* Is a hypervisor handling HVC? (Directly on QEMU PSCI costs the one instruction.) */
	uint64_t t0 = counter();

	for (int i = 0; i < 16; i++)
		psci_version();
	uint64_t hvc_x100 = per_op_x100(counter() - t0, 16);
	int hyp = hvc_x100 > HYP_HVC_MIN * 100;

	int64_t on = cpu_start(vcpu1_mpidr, responder, 0);
	int have_vcpu1 = on == PSCI_SUCCESS;
	const char *mode = have_vcpu1 ? "suite" : hyp ? "vm_switch" : "suite-1cpu";

	printf("bench: start freq %lu mode %s hypervisor %s (psci_version call ~%lu instructions) "
	       "cpu_on(1) %ld\n",
	       freq, mode, hyp ? "yes" : "no", hvc_x100 / 100, on);
	if (!have_vcpu1 && hyp)
		run_switch();
	else
		run_suite(hyp, have_vcpu1);
	if (stray_irqs)
		printf("bench: note %lu unexpected interrupts (last %lu)\n", stray_irqs, last_stray);
	printf("bench: done\n");
	psci_system_off();
	return 0;
}
