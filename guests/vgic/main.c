/* vgic: exercises a GICv3 from the guest's side (Arm IHI 0069), on 2 vCPUs. Written to the
 * architecture, so it passes on QEMU virt's own GICv3 (gic-version=3, guest at EL1) as well as
 * on Bulkhead's virtual GIC (emulated GICD at 0x08000000, GICR frames from 0x080A0000, ICC_*
 * system registers backed by list registers, virtual timer as PPI 27).
 *
 * Set-up like Linux: distributor (ARE + EnableGrp1, RWP), each vCPU finds its redistributor by
 * GICR_TYPER affinity, wakes it (GICR_WAKER), puts SGIs/PPIs in Group 1, then ICC_SRE_EL1.SRE,
 * ICC_PMR_EL1 0xff, ICC_BPR1_EL1 0, EOImode 0, ICC_IGRPEN1_EL1 1. The IRQ handler loops
 * ICC_IAR1_EL1 until 1023, counts and logs each INTID per vCPU and writes ICC_EOIR1_EL1.
 *
 * Every check prints one line, "vgic: PASS <name> <values>" or "vgic: FAIL <name> expected ...
 * got ...":
 *   gicd              GICD_PIDR2.ArchRev 3, GICD_TYPER.IDbits >= 9, GICD_CTLR has ARE and
 *                     EnableGrp1 after init and RWP clear
 *   gicr              the GICR frames (walked until GICR_TYPER.Last): at least 2, each vCPU
 *                     found its own (affinity = its MPIDR), distinct, PIDR2.ArchRev 3, Last only
 *                     on the final frame, GICR_WAKER woken
 *   cpuif             on both vCPUs: ICC_SRE_EL1.SRE 1, ICC_IGRPEN1_EL1 1, ICC_CTLR_EL1.EOImode 0
 *   sgi_pingpong      1000 rounds: vCPU0 sends SGI 1 to vCPU1 (waiting in WFI), whose handler
 *                     sends SGI 2 back; counts exact on both sides every round and at the end
 * Then on vCPU0 and afterwards on vCPU1, each with the suffix _cpu0 / _cpu1 (the other vCPU is
 * meanwhile a watchdog: it sleeps in WFI, woken every 50 ms by its own virtual timer, and sends
 * SGI 0 if the one under test made no progress for 1 s, so a lost interrupt ends a WFI with a
 * FAIL instead of a hang):
 *   pmr_cpuN          PMR 0x80: SGI 6 at priority 0xa0 stays pending (GICR_ISPENDR0) and is not
 *                     taken; PMR 0xff: taken exactly once
 *   order_cpuN        IRQs masked, SGIs 3..14 (12 > the 4 list registers of QEMU's GIC) pending on
 *                     self, each its own priority: GICR_ISPENDR0 shows all 12; unmasked, all are
 *                     taken exactly once, highest priority (lowest value) first
 *   disable_active_cpuN  SGI 5 disabled (GICR_ICENABLER0) in its handler before EOI: it shows
 *                     active and disabled there, inactive after EOI, does not fire again when
 *                     re-enabled; made pending while disabled, it fires exactly once on re-enable
 *   vtimer_poll_cpuN  20 times: CNTV_CVAL = now + 10 ms, CNTV_CTL = 1, PPI 27 enabled, busy wait:
 *                     delivered once each, never before CVAL (CNTVCT >= CVAL, ISTATUS 1 in the
 *                     handler, which then sets IMASK); lateness: lower quartile < 5 ms, maximum
 *                     < 1 s (not there 2 s after CVAL: lost)
 *   vtimer_wfi_cpuN   the same, but waiting in WFI with IRQs masked (the pending timer must wake
 *                     a vCPU blocked in WFI)
 * Finally:
 *   no_stray          no INTID other than SGIs 0..15 and PPI 27 was taken, and none by the vCPU
 *                     not under test during a local check
 * and the summary "vgic: pass" or "vgic: FAIL summary <n> checks failed". */
#include "gic.h"
#include "guest.h"

#define NCPUS 2
#define PINGPONG_ROUNDS 1000
#define TIMER_ROUNDS 20
#define TIMER_DELAY_MS 10
/* Lateness of a timer interrupt: under TCG it depends mostly on the host (QEMU's main loop
 * thread must get a host CPU to fire the timer, while the vCPU under test spins), so the bound
 * is on the lower quartile (robust against host stalls) plus a gross maximum. */
#define TIMER_LATE_P25_US 5000
#define TIMER_LATE_MAX_US 1000000
#define TIMER_LOST_MS 2000	  /* after CVAL: counted as not delivered */
#define WAIT_MS 1000		  /* for an interrupt that should come at once */
#define QUIET_MS 20		  /* to see that an interrupt does not come */
#define WATCHDOG_MS 1000
#define LOG_MAX 64

#define SGI_KICK 0
#define SGI_PING 1
#define SGI_PONG 2
#define SGI_DISABLE_ACTIVE 5
#define SGI_PMR 6
#define PPI_VTIMER 27

#define CNTV_CTL_ENABLE 1u
#define CNTV_CTL_IMASK 2u
#define CNTV_CTL_ISTATUS 4u

#define KIND_IRQ_CUR_SPX 5

enum { CMD_NONE, CMD_WATCH, CMD_LOCAL, CMD_STOP };

struct cpu_state {
	uint64_t mpidr;
	uint64_t rd; /* this vCPU's redistributor (RD_base), 0 if not found */
	int wake_rc;
	uint64_t sre, igrpen1, ctlr;
	volatile uint32_t count[32]; /* per INTID, written by this vCPU's handler only */
	volatile uint32_t other;     /* INTIDs >= 32 */
	volatile uint32_t spurious;  /* IRQ exceptions where the first IAR read gave 1023 */
	volatile uint32_t stray;
	volatile uint32_t log[LOG_MAX];
	volatile uint32_t nlog;
	volatile uint64_t timer_t, timer_ctl;
	volatile uint32_t da_mode, da_active, da_enabled;
	volatile uint64_t heartbeat;
	volatile uint32_t fails;
	volatile uint32_t kicks_sent;
};

static struct cpu_state cs[NCPUS];
static volatile uint32_t cpu1_ready;
static volatile uint32_t cmd, cmd_seq, cmd_done; /* vCPU0 -> vCPU1 */
static volatile uint32_t watch_stop;
static volatile int local_owner = -1; /* vCPU running a local check, or -1 */
static uint64_t freq;

/* ---- small helpers ---- */

static inline uint64_t us_of(uint64_t ticks)
{
	return ticks * 1000000 / freq;
}

static inline uint64_t ticks_of_ms(uint64_t ms)
{
	return ms * freq / 1000;
}

static void beat(unsigned me)
{
	cs[me].heartbeat++;
}

static inline uint64_t vtimer_ctl(void)
{
	uint64_t v;

	__asm__ volatile("mrs %0, cntv_ctl_el0" : "=r"(v));
	return v;
}

static inline void vtimer_set_ctl(uint64_t v)
{
	__asm__ volatile("msr cntv_ctl_el0, %0; isb" ::"r"(v) : "memory");
}

/* CNTV_CVAL_EL0 = cval, then CNTV_CTL_EL0 = ENABLE (not masked). */
static inline void vtimer_arm(uint64_t cval)
{
	__asm__ volatile("msr cntv_cval_el0, %0; isb" ::"r"(cval) : "memory");
	vtimer_set_ctl(CNTV_CTL_ENABLE);
}

/* Busy-waits (IRQs as they are) until *p >= want or ms pass; returns whether it got there. */
static int wait_count(unsigned me, volatile uint32_t *p, uint32_t want, uint64_t ms)
{
	uint64_t deadline = read_cntvct() + ticks_of_ms(ms);

	while (*p < want) {
		beat(me);
		if (read_cntvct() > deadline)
			return 0;
	}
	return 1;
}

static void quiet(unsigned me, uint64_t ms)
{
	uint64_t end = read_cntvct() + ticks_of_ms(ms);

	while (read_cntvct() < end)
		beat(me);
}

static int result(unsigned me, int ok, const char *name, const char *pass_values,
		  const char *fail_text)
{
	if (ok)
		printf("vgic: PASS %s %s\n", name, pass_values);
	else {
		printf("vgic: FAIL %s %s\n", name, fail_text);
		cs[me].fails++;
	}
	return ok;
}

static uint32_t ispendr0(unsigned me)
{
	return gic_read32(cs[me].rd + GICR_ISPENDR0);
}

static uint32_t isactiver0(unsigned me)
{
	return gic_read32(cs[me].rd + GICR_ISACTIVER0);
}

static uint32_t isenabler0(unsigned me)
{
	return gic_read32(cs[me].rd + GICR_ISENABLER0);
}

/* ---- IRQ handler ---- */

static void handle(unsigned me, uint32_t intid)
{
	struct cpu_state *c = &cs[me];
	uint64_t now = read_cntvct();

	if (intid == PPI_VTIMER) {
		uint64_t ctl = vtimer_ctl();

		vtimer_set_ctl(ctl | CNTV_CTL_IMASK); /* like Linux: mask, the line drops */
		c->timer_t = now;
		c->timer_ctl = ctl;
	}
	if (intid < 32)
		c->count[intid]++;
	else
		c->other++;
	if (intid >= 16 && intid != PPI_VTIMER)
		c->stray++;
	if (intid != SGI_KICK) {
		int owner = local_owner;

		/* the watchdog's own timer is the only interrupt the other vCPU takes */
		if (owner >= 0 && (unsigned)owner != me && intid != PPI_VTIMER)
			c->stray++;
		if (c->nlog < LOG_MAX)
			c->log[c->nlog++] = intid;
	}
	if (intid == SGI_PING)
		gic_send_sgi(SGI_PONG, cs[0].mpidr);
	if (intid == SGI_DISABLE_ACTIVE && c->da_mode == 1) {
		gic_disable(c->rd, SGI_DISABLE_ACTIVE); /* GICR_ICENABLER0, then RWP */
		c->da_active = (isactiver0(me) >> SGI_DISABLE_ACTIVE) & 1;
		c->da_enabled = (isenabler0(me) >> SGI_DISABLE_ACTIVE) & 1;
		c->da_mode = 2;
	}
	dmb();
}

static int irq_hook(struct exc_frame *f)
{
	unsigned me = cpu_index();
	int n = 0;

	if (f->kind != KIND_IRQ_CUR_SPX || me >= NCPUS)
		return 0;
	for (;;) {
		uint32_t intid = gic_ack();

		if (intid >= 1020) { /* 1023: nothing (more) pending */
			if (!n)
				cs[me].spurious++;
			break;
		}
		n++;
		handle(me, intid);
		gic_eoi(intid);
	}
	return 1;
}

/* ---- per-vCPU set-up ---- */

static void cpu_gic_setup(unsigned me)
{
	struct cpu_state *c = &cs[me];

	c->mpidr = read_mpidr();
	c->rd = gicr_find(c->mpidr);
	if (c->rd) {
		c->wake_rc = gicr_wake(c->rd);
		gicr_init_private(c->rd);
	} else
		c->wake_rc = -2;
	c->sre = gic_cpu_init();
	c->igrpen1 = gic_sysreg_read(SYS_ICC_IGRPEN1_EL1);
	c->ctlr = gic_sysreg_read(SYS_ICC_CTLR_EL1);
	if (c->rd) {
		gic_set_priority(c->rd, SGI_KICK, 0x40);
		gic_enable(c->rd, SGI_KICK);
		gic_enable(c->rd, me == 0 ? SGI_PONG : SGI_PING);
	}
	dsb();
}

/* ---- watchdog: while the other vCPU runs its local checks ----
 * Sleeps in WFI, woken every WATCH_TICK_MS by its own virtual timer (so it does not take a host
 * CPU away from the vCPU under test), and sends SGI 0 to the other vCPU when that has made no
 * progress (heartbeat) for WATCHDOG_MS. Ends when *stop_flag == stop_value (the other vCPU
 * sends SGI 0 after setting it) or after max_ms. */

#define WATCH_TICK_MS 50

static void watchdog(unsigned me, volatile uint32_t *stop_flag, uint32_t stop_value,
		     uint64_t max_ms)
{
	unsigned other = 1 - me;
	uint64_t last = cs[other].heartbeat, t_last = read_cntvct();
	uint64_t end = t_last + ticks_of_ms(max_ms);

	gic_set_priority(cs[me].rd, PPI_VTIMER, GIC_DEFAULT_PRIO);
	gic_enable(cs[me].rd, PPI_VTIMER);
	for (;;) {
		uint64_t now = read_cntvct(), hb = cs[other].heartbeat;

		beat(me);
		if (*stop_flag == stop_value || now > end)
			break;
		if (hb != last) {
			last = hb;
			t_last = now;
		} else if (now - t_last > ticks_of_ms(WATCHDOG_MS)) {
			gic_send_sgi(SGI_KICK, cs[other].mpidr);
			cs[me].kicks_sent++;
			t_last = now;
		}
		vtimer_arm(now + ticks_of_ms(WATCH_TICK_MS));
		irq_mask();
		if (*stop_flag != stop_value)
			wfi();
		irq_unmask();
	}
	vtimer_set_ctl(0);
	gic_disable(cs[me].rd, PPI_VTIMER);
}

/* ---- checks run by one vCPU on itself ---- */

static void check_pmr(unsigned me, const char *name)
{
	uint64_t rd = cs[me].rd;
	uint32_t c0 = cs[me].count[SGI_PMR];
	char v[160], w[200];

	gic_set_priority(rd, SGI_PMR, 0xa0);
	gic_enable(rd, SGI_PMR);
	gic_set_pmr(0x80);
	uint32_t pmr = (uint32_t)gic_sysreg_read(SYS_ICC_PMR_EL1);
	gic_send_sgi(SGI_PMR, cs[me].mpidr);
	quiet(me, QUIET_MS);
	uint32_t taken_masked = cs[me].count[SGI_PMR] - c0;
	uint32_t pend = (ispendr0(me) >> SGI_PMR) & 1;
	gic_set_pmr(0xff);
	wait_count(me, &cs[me].count[SGI_PMR], c0 + 1, WAIT_MS);
	quiet(me, QUIET_MS);
	uint32_t taken = cs[me].count[SGI_PMR] - c0;
	uint32_t pend_after = (ispendr0(me) >> SGI_PMR) & 1;
	gic_disable(rd, SGI_PMR);

	snprintf(v, sizeof(v), "pmr 0x%x prio 0xa0 pending %u taken_masked %u taken_unmasked %u",
		 pmr, pend, taken_masked, taken);
	snprintf(w, sizeof(w),
		 "expected pmr 0x80 pending 1 taken_masked 0 taken_unmasked 1 pending_after 0 "
		 "got pmr 0x%x pending %u taken_masked %u taken_unmasked %u pending_after %u",
		 pmr, pend, taken_masked, taken, pend_after);
	result(me, pmr == 0x80 && pend == 1 && taken_masked == 0 && taken == 1 && pend_after == 0,
	       name, v, w);
}

#define ORDER_FIRST 3
#define ORDER_LAST 14
#define ORDER_N (ORDER_LAST - ORDER_FIRST + 1)

static uint8_t order_prio(unsigned intid) /* a permutation of 0x00..0xb0 over SGIs 3..14 */
{
	return (uint8_t)(((intid * 7) % ORDER_N) * 0x10);
}

static int fmt_list(char *buf, size_t size, const volatile uint32_t *l, unsigned n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && len + 1 < size; i++)
		len += (size_t)snprintf(buf + len, size - len, i ? ",%u" : "%u", l[i]);
	return (int)len;
}

static void check_order(unsigned me, const char *name)
{
	struct cpu_state *c = &cs[me];
	uint64_t rd = c->rd;
	uint32_t expect[ORDER_N], c0[32], bad_prio = 0, bad_count = 0;
	uint32_t mask = ((1u << ORDER_N) - 1) << ORDER_FIRST;
	char got_s[96], exp_s[96], v[200], w[240];

	/* expected order: priority value ascending */
	for (unsigned p = 0, k = 0; p < ORDER_N; p++)
		for (unsigned i = ORDER_FIRST; i <= ORDER_LAST; i++)
			if (order_prio(i) == p * 0x10)
				expect[k++] = i;

	irq_mask();
	for (unsigned i = ORDER_FIRST; i <= ORDER_LAST; i++) {
		gic_set_priority(rd, i, order_prio(i));
		if (gic_get_priority(rd, i) != order_prio(i))
			bad_prio++;
		gic_enable(rd, i);
	}
	for (unsigned i = 0; i < 32; i++)
		c0[i] = c->count[i];
	c->nlog = 0;
	dsb();
	for (unsigned i = ORDER_FIRST; i <= ORDER_LAST; i++)
		gic_send_sgi(i, c->mpidr);
	quiet(me, 5);
	uint32_t pend = ispendr0(me) & mask;
	uint32_t taken_masked = c->nlog;
	irq_unmask();
	wait_count(me, &c->nlog, ORDER_N, WAIT_MS);
	quiet(me, QUIET_MS);
	irq_mask();
	unsigned n = c->nlog;
	uint32_t got[LOG_MAX];
	for (unsigned i = 0; i < n && i < LOG_MAX; i++)
		got[i] = c->log[i];
	for (unsigned i = ORDER_FIRST; i <= ORDER_LAST; i++) {
		if (c->count[i] - c0[i] != 1)
			bad_count++;
		gic_disable(rd, i);
	}
	uint32_t pend_after = ispendr0(me) & mask;
	irq_unmask();

	int in_order = n == ORDER_N;
	for (unsigned i = 0; in_order && i < ORDER_N; i++)
		in_order = got[i] == expect[i];
	fmt_list(got_s, sizeof(got_s), got, n < LOG_MAX ? n : LOG_MAX);
	fmt_list(exp_s, sizeof(exp_s), expect, ORDER_N);
	snprintf(v, sizeof(v), "pending 0x%x taken %u order %s", pend, n, got_s);
	snprintf(w, sizeof(w),
		 "expected pending 0x%x taken %u order %s (0 taken while masked, each once, "
		 "priorities read back) got pending 0x%x taken %u order %s masked %u not_once %u "
		 "bad_prio %u pending_after 0x%x",
		 mask, ORDER_N, exp_s, pend, n, got_s, taken_masked, bad_count, bad_prio,
		 pend_after);
	result(me,
	       pend == mask && in_order && taken_masked == 0 && bad_count == 0 && bad_prio == 0 &&
		       pend_after == 0,
	       name, v, w);
}

static void check_disable_active(unsigned me, const char *name)
{
	struct cpu_state *c = &cs[me];
	uint64_t rd = c->rd;
	const unsigned id = SGI_DISABLE_ACTIVE;
	uint32_t c0 = c->count[id];
	char v[200], w[300];

	c->da_active = c->da_enabled = 9;
	c->da_mode = 1;
	dsb();
	gic_set_priority(rd, id, 0x90);
	gic_enable(rd, id);
	gic_send_sgi(id, c->mpidr);
	wait_count(me, &c->count[id], c0 + 1, WAIT_MS);
	quiet(me, 2);
	uint32_t first = c->count[id] - c0;
	uint32_t act_after = (isactiver0(me) >> id) & 1;
	uint32_t en_after = (isenabler0(me) >> id) & 1;
	/* re-enabled: must not fire again */
	gic_enable(rd, id);
	quiet(me, QUIET_MS);
	uint32_t refire = c->count[id] - c0 - first;
	/* pending while disabled, fires once on re-enable */
	gic_disable(rd, id);
	gic_send_sgi(id, c->mpidr);
	quiet(me, QUIET_MS);
	uint32_t while_disabled = c->count[id] - c0 - first - refire;
	uint32_t pend_dis = (ispendr0(me) >> id) & 1;
	gic_enable(rd, id);
	wait_count(me, &c->count[id], c0 + 2, WAIT_MS);
	quiet(me, QUIET_MS);
	uint32_t total = c->count[id] - c0;
	uint32_t pend_end = (ispendr0(me) >> id) & 1;
	gic_disable(rd, id);
	c->da_mode = 0;

	snprintf(v, sizeof(v),
		 "in_handler active %u enabled %u; after_eoi active %u refire %u; "
		 "pending_while_disabled %u taken_while_disabled %u; total %u",
		 c->da_active, c->da_enabled, act_after, refire, pend_dis, while_disabled, total);
	snprintf(w, sizeof(w),
		 "expected first 1 in_handler active 1 enabled 0 after_eoi active 0 enabled 0 "
		 "refire 0 pending_while_disabled 1 taken_while_disabled 0 total 2 pending_end 0 "
		 "got first %u in_handler active %u enabled %u after_eoi active %u enabled %u "
		 "refire %u pending_while_disabled %u taken_while_disabled %u total %u "
		 "pending_end %u",
		 first, c->da_active, c->da_enabled, act_after, en_after, refire, pend_dis,
		 while_disabled, total, pend_end);
	result(me,
	       first == 1 && c->da_active == 1 && c->da_enabled == 0 && act_after == 0 &&
		       en_after == 0 && refire == 0 && pend_dis == 1 && while_disabled == 0 &&
		       total == 2 && pend_end == 0,
	       name, v, w);
}

static void sort_u64(uint64_t *a, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j && a[j - 1] > a[j]; j--) {
			uint64_t t = a[j];

			a[j] = a[j - 1];
			a[j - 1] = t;
		}
}

static void check_vtimer(unsigned me, const char *name, int use_wfi)
{
	struct cpu_state *c = &cs[me];
	uint64_t rd = c->rd;
	uint64_t late[TIMER_ROUNDS];
	uint32_t c0 = c->count[PPI_VTIMER], delivered = 0, lost = 0, dup = 0, early = 0;
	uint32_t nostatus = 0;
	char v[200], w[300];

	gic_set_priority(rd, PPI_VTIMER, GIC_DEFAULT_PRIO);
	gic_enable(rd, PPI_VTIMER);
	for (unsigned i = 0; i < TIMER_ROUNDS; i++) {
		uint32_t before = c->count[PPI_VTIMER];
		uint64_t cval = read_cntvct() + ticks_of_ms(TIMER_DELAY_MS);
		uint64_t give_up = cval + ticks_of_ms(TIMER_LOST_MS);

		c->timer_t = 0;
		vtimer_arm(cval);
		if (use_wfi) {
			/* masked WFI: the pending interrupt must end the WFI, then it is taken
			 * when unmasked; SGI 0 from the watchdog ends a WFI that nothing ends */
			for (;;) {
				irq_mask();
				beat(me);
				if (c->count[PPI_VTIMER] != before || read_cntvct() > give_up)
					break;
				wfi();
				irq_unmask();
			}
			irq_unmask();
		} else {
			while (c->count[PPI_VTIMER] == before && read_cntvct() <= give_up)
				beat(me);
		}
		quiet(me, 1);
		vtimer_set_ctl(0);
		uint32_t got = c->count[PPI_VTIMER] - before;
		if (got == 0) {
			if (++lost == 3) /* each costs 2 s; enough said */
				break;
			continue;
		}
		if (got > 1)
			dup++;
		uint64_t t = c->timer_t;
		if (t < cval)
			early++;
		if (!(c->timer_ctl & CNTV_CTL_ISTATUS))
			nostatus++;
		late[delivered++] = t >= cval ? us_of(t - cval) : 0;
	}
	quiet(me, QUIET_MS);
	uint32_t total = c->count[PPI_VTIMER] - c0;
	gic_disable(rd, PPI_VTIMER);

	uint64_t min = 0, p25 = 0, med = 0, max = 0;
	if (delivered) {
		sort_u64(late, delivered);
		min = late[0];
		p25 = late[delivered / 4];
		med = late[delivered / 2];
		max = late[delivered - 1];
	}
	snprintf(v, sizeof(v), "delivered %u/%u late_us min %lu p25 %lu median %lu max %lu",
		 delivered, TIMER_ROUNDS, min, p25, med, max);
	snprintf(w, sizeof(w),
		 "expected delivered %u total %u early 0 no_istatus 0 duplicated 0 "
		 "late_us p25 < %u max < %u got delivered %u total %u lost %u early %u "
		 "no_istatus %u duplicated %u late_us min %lu p25 %lu median %lu max %lu",
		 TIMER_ROUNDS, TIMER_ROUNDS, TIMER_LATE_P25_US, TIMER_LATE_MAX_US, delivered, total,
		 lost, early, nostatus, dup, min, p25, med, max);
	result(me,
	       delivered == TIMER_ROUNDS && total == TIMER_ROUNDS && lost == 0 && dup == 0 &&
		       early == 0 && nostatus == 0 && p25 < TIMER_LATE_P25_US &&
		       max < TIMER_LATE_MAX_US,
	       name, v, w);
}

static void run_local(unsigned me)
{
	char name[32];

	local_owner = (int)me;
	dsb();
	snprintf(name, sizeof(name), "pmr_cpu%u", me);
	check_pmr(me, name);
	snprintf(name, sizeof(name), "order_cpu%u", me);
	check_order(me, name);
	snprintf(name, sizeof(name), "disable_active_cpu%u", me);
	check_disable_active(me, name);
	snprintf(name, sizeof(name), "vtimer_poll_cpu%u", me);
	check_vtimer(me, name, 0);
	snprintf(name, sizeof(name), "vtimer_wfi_cpu%u", me);
	check_vtimer(me, name, 1);
	local_owner = -1;
	dsb();
}

/* ---- vCPU1 ---- */

static void cpu1_main(uint64_t unused)
{
	uint32_t seen = 0;

	(void)unused;
	cpu_gic_setup(1);
	irq_unmask();
	cpu1_ready = 1;
	dsb();
	for (;;) {
		irq_mask();
		beat(1);
		if (cmd_seq != seen) {
			uint32_t c;

			dmb();
			seen = cmd_seq;
			c = cmd;
			irq_unmask();
			if (c == CMD_STOP)
				break;
			if (c == CMD_WATCH)
				watchdog(1, &watch_stop, 1, 60000);
			else if (c == CMD_LOCAL)
				run_local(1);
			dmb();
			cmd_done = seen;
			dsb();
			gic_send_sgi(SGI_KICK, cs[0].mpidr); /* ends vCPU0's watchdog wait */
			continue;
		}
		wfi();
		irq_unmask();
	}
	irq_mask();
	gic_sysreg_write(SYS_ICC_IGRPEN1_EL1, 0);
	isb();
	/* returning calls CPU_OFF */
}

static void send_cmd(uint32_t c)
{
	cmd = c;
	dmb();
	cmd_seq = cmd_seq + 1;
	dsb();
	gic_send_sgi(SGI_KICK, cs[1].mpidr);
}

/* ---- vCPU0 checks ---- */

static void check_gicd(uint32_t ctlr)
{
	uint32_t typer = gic_read32(GICD_BASE + GICD_TYPER);
	uint32_t pidr2 = gic_read32(GICD_BASE + GICD_PIDR2);
	uint32_t iidr = gic_read32(GICD_BASE + GICD_IIDR);
	uint32_t rev = GIC_PIDR2_ARCHREV(pidr2), idbits = GICD_TYPER_IDBITS(typer);
	uint32_t need = GICD_CTLR_ARE | GICD_CTLR_ENABLE_G1;
	char v[160], w[240];

	snprintf(v, sizeof(v), "typer 0x%x itlines %u idbits %u pidr2 0x%x archrev %u ctlr 0x%x "
		 "ds %u iidr 0x%x",
		 typer, GICD_TYPER_ITLINES(typer), idbits, pidr2, rev, ctlr,
		 (ctlr & GICD_CTLR_DS) ? 1 : 0, iidr);
	snprintf(w, sizeof(w),
		 "expected archrev 3 idbits >= 9 ctlr ARE|EnableGrp1 (0x%x) set, RWP clear got "
		 "typer 0x%x idbits %u pidr2 0x%x archrev %u ctlr 0x%x",
		 need, typer, idbits, pidr2, rev, ctlr);
	result(0, rev == 3 && idbits >= 9 && (ctlr & need) == need && !(ctlr & GICD_CTLR_RWP),
	       "gicd", v, w);
}

struct frames {
	unsigned n;
	uint64_t rd[GICR_MAX_FRAMES];
	uint64_t typer[GICR_MAX_FRAMES];
	uint32_t rev[GICR_MAX_FRAMES];
};

static void frames_fn(unsigned idx, uint64_t rd, uint64_t typer, void *arg)
{
	struct frames *f = arg;

	f->rd[idx] = rd;
	f->typer[idx] = typer;
	f->rev[idx] = GIC_PIDR2_ARCHREV(gic_read32(rd + GICR_PIDR2));
}

static void check_gicr(void)
{
	struct frames f;
	char v[200], w[300];
	int ok;
	unsigned bad_last = 0, bad_rev = 0, idx[NCPUS];

	memset(&f, 0, sizeof(f));
	f.n = gicr_walk(frames_fn, &f);
	for (unsigned i = 0; i < f.n; i++) {
		int last = (f.typer[i] & GICR_TYPER_LAST) != 0;

		if (last != (i == f.n - 1))
			bad_last++;
		if (f.rev[i] != 3)
			bad_rev++;
	}
	ok = f.n >= NCPUS && bad_last == 0 && bad_rev == 0;
	for (unsigned c = 0; c < NCPUS; c++) {
		idx[c] = 99;
		for (unsigned i = 0; i < f.n; i++)
			if (cs[c].rd && f.rd[i] == cs[c].rd)
				idx[c] = i;
		if (idx[c] == 99 || cs[c].wake_rc != 0 ||
		    GICR_TYPER_AFF(f.typer[idx[c]]) != gic_mpidr_to_aff(cs[c].mpidr))
			ok = 0;
	}
	if (idx[0] == idx[1])
		ok = 0;
	uint32_t waker0 = cs[0].rd ? gic_read32(cs[0].rd + GICR_WAKER) : 0xdead;
	uint32_t waker1 = cs[1].rd ? gic_read32(cs[1].rd + GICR_WAKER) : 0xdead;
	if ((waker0 | waker1) & (GICR_WAKER_PROCESSOR_SLEEP | GICR_WAKER_CHILDREN_ASLEEP))
		ok = 0;
	uint32_t aff0 = idx[0] < f.n ? GICR_TYPER_AFF(f.typer[idx[0]]) : 0xffffffff;
	uint32_t aff1 = idx[1] < f.n ? GICR_TYPER_AFF(f.typer[idx[1]]) : 0xffffffff;
	uint64_t lastt = f.n ? f.typer[f.n - 1] : 0;

	snprintf(v, sizeof(v),
		 "frames %u cpu0 frame %u aff 0x%x typer 0x%lx cpu1 frame %u aff 0x%x typer 0x%lx "
		 "last_typer 0x%lx",
		 f.n, idx[0], aff0, idx[0] < f.n ? f.typer[idx[0]] : 0, idx[1], aff1,
		 idx[1] < f.n ? f.typer[idx[1]] : 0, lastt);
	snprintf(w, sizeof(w),
		 "expected frames >= 2, Last only on the final one, archrev 3, cpu0 aff 0x%x and "
		 "cpu1 aff 0x%x in distinct frames, woken got frames %u bad_last %u bad_rev %u "
		 "cpu0 frame %u aff 0x%x wake %d waker 0x%x cpu1 frame %u aff 0x%x wake %d waker "
		 "0x%x",
		 gic_mpidr_to_aff(cs[0].mpidr), gic_mpidr_to_aff(cs[1].mpidr), f.n, bad_last,
		 bad_rev, idx[0], aff0, cs[0].wake_rc, waker0, idx[1], aff1, cs[1].wake_rc, waker1);
	result(0, ok, "gicr", v, w);
}

static void check_cpuif(void)
{
	char v[160], w[240];
	int ok = 1;

	for (unsigned c = 0; c < NCPUS; c++)
		if (!(cs[c].sre & ICC_SRE_SRE) || (cs[c].igrpen1 & 1) != 1 ||
		    (cs[c].ctlr & ICC_CTLR_EOIMODE))
			ok = 0;
	snprintf(v, sizeof(v), "cpu0 sre 0x%lx igrpen1 %lu ctlr 0x%lx cpu1 sre 0x%lx igrpen1 %lu "
		 "ctlr 0x%lx",
		 cs[0].sre, cs[0].igrpen1, cs[0].ctlr, cs[1].sre, cs[1].igrpen1, cs[1].ctlr);
	snprintf(w, sizeof(w), "expected sre.SRE 1 igrpen1 1 ctlr.EOImode 0 on both got %s", v);
	result(0, ok, "cpuif", v, w);
}

static void check_pingpong(void)
{
	char v[160], w[240];
	uint32_t lost_round = 0, dup_round = 0;
	uint32_t pong0 = cs[0].count[SGI_PONG], ping0 = cs[1].count[SGI_PING];
	uint64_t t0 = read_cntvct();

	for (uint32_t i = 1; i <= PINGPONG_ROUNDS; i++) {
		gic_send_sgi(SGI_PING, cs[1].mpidr);
		if (!wait_count(0, &cs[0].count[SGI_PONG], pong0 + i, WAIT_MS)) {
			lost_round = i;
			break;
		}
		dmb();
		if (cs[0].count[SGI_PONG] != pong0 + i || cs[1].count[SGI_PING] != ping0 + i) {
			dup_round = i;
			break;
		}
	}
	uint64_t us = us_of(read_cntvct() - t0);
	quiet(0, 50);
	uint32_t pings = cs[1].count[SGI_PING] - ping0, pongs = cs[0].count[SGI_PONG] - pong0;
	uint32_t wrong = cs[0].count[SGI_PING] + cs[1].count[SGI_PONG];

	snprintf(v, sizeof(v), "rounds %u cpu1_got_sgi1 %u cpu0_got_sgi2 %u time_us %lu",
		 PINGPONG_ROUNDS, pings, pongs, us);
	snprintf(w, sizeof(w),
		 "expected cpu1_got_sgi1 %u cpu0_got_sgi2 %u wrong_cpu 0 got cpu1_got_sgi1 %u "
		 "cpu0_got_sgi2 %u wrong_cpu %u lost_at_round %u duplicate_at_round %u",
		 PINGPONG_ROUNDS, PINGPONG_ROUNDS, pings, pongs, wrong, lost_round, dup_round);
	result(0,
	       pings == PINGPONG_ROUNDS && pongs == PINGPONG_ROUNDS && wrong == 0 && !lost_round &&
		       !dup_round,
	       "sgi_pingpong", v, w);
}

static void check_stray(void)
{
	char v[160], w[200];

	snprintf(v, sizeof(v), "cpu0 stray %u spurious %u kicks %u cpu1 stray %u spurious %u "
		 "kicks %u",
		 cs[0].stray, cs[0].spurious, cs[1].kicks_sent, cs[1].stray, cs[1].spurious,
		 cs[0].kicks_sent);
	snprintf(w, sizeof(w), "expected stray 0 on both got %s", v);
	result(0, cs[0].stray == 0 && cs[1].stray == 0 && cs[0].other == 0 && cs[1].other == 0,
	       "no_stray", v, w);
}

int main(void)
{
	freq = read_cntfrq() & 0xffffffffu;
	if (!freq)
		freq = 62500000;
	printf("vgic: cpu0 mpidr 0x%lx cntfrq %lu\n", read_mpidr(), freq);
	exc_set_hook(irq_hook);

	uint32_t ctlr = gicd_init();
	cpu_gic_setup(0);
	irq_unmask();
	check_gicd(ctlr);

	int64_t r = cpu_start(1, cpu1_main, 0);
	uint64_t deadline = time_ms() + 5000;
	while (r == PSCI_SUCCESS && !cpu1_ready && time_ms() < deadline)
		;
	dmb();
	if (!cpu1_ready) {
		printf("vgic: FAIL cpu1_start expected cpu_on 0 and vCPU1 up "
		       "got cpu_on %ld up %u\n",
		       r, cpu1_ready);
		printf("vgic: FAIL summary vCPU1 did not start\n");
		halt();
	}
	check_gicr();
	check_cpuif();
	check_pingpong();

	/* local checks on vCPU0 (vCPU1 watches), then on vCPU1 (vCPU0 watches) */
	watch_stop = 0;
	send_cmd(CMD_WATCH);
	run_local(0);
	watch_stop = 1;
	dsb();
	gic_send_sgi(SGI_KICK, cs[1].mpidr);
	wait_count(0, &cmd_done, cmd_seq, WAIT_MS * 5);
	send_cmd(CMD_LOCAL);
	uint32_t seq = cmd_seq;
	watchdog(0, &cmd_done, seq, 60000);
	if (cmd_done != seq) {
		printf("vgic: FAIL cpu1_local expected vCPU1 to finish its checks got cmd_done %u "
		       "seq %u\n",
		       cmd_done, seq);
		cs[0].fails++;
	}
	check_stray();
	send_cmd(CMD_STOP);

	uint32_t fails = cs[0].fails + cs[1].fails;
	if (fails)
		printf("vgic: FAIL summary %u checks failed\n", fails);
	else
		printf("vgic: pass\n");
	halt();
}
