/* The scheduler of one physical CPU. Each CPU runs only the vCPUs pinned to it: the highest
 * priority runnable one; equals take turns in time slices. A vCPU alone on its CPU runs with
 * no timer at all. Decisions are made only when something changed (need_resched), so the
 * common exit costs one flag test here. */
#include <bulkhead/arch.h>
#include <bulkhead/errno.h>
#include <bulkhead/pcpu.h>
#include <bulkhead/sched.h>
#include <bulkhead/vm.h>

struct pcpu pcpus[MAX_CPUS];
u32 nr_pcpus;

static u64 slice; /* SCHED_SLICE_US in counter ticks */

static u64 slice_ticks(void)
{
	if (!slice)
		slice = arch_counter_hz() / 1000000 * SCHED_SLICE_US;
	return slice;
}

int sched_add(struct vcpu *v)
{
	struct pcpu *p = &pcpus[v->pcpu];
	int r = E_FULL;

	spin_lock(&p->lock);
	if (p->nr_vcpus < PCPU_MAX_VCPUS) {
		p->vcpus[p->nr_vcpus] = v;
		__atomic_store_n(&p->nr_vcpus, p->nr_vcpus + 1, __ATOMIC_RELEASE);
		r = E_OK;
	}
	spin_unlock(&p->lock);
	return r;
}

void sched_remove(struct vcpu *v)
{
	struct pcpu *p = &pcpus[v->pcpu];

	for (;;) {
		spin_lock(&p->lock);
		/* Loaded vCPUs are set under this lock (schedule), so one not loaded now cannot
		 * be picked once it is out of the array. */
		if (!__atomic_load_n(&v->running, __ATOMIC_ACQUIRE))
			break;
		spin_unlock(&p->lock);
		sched_poke(v->pcpu);
		arch_cpu_relax();
	}
	for (u32 i = 0; i < p->nr_vcpus; i++) {
		if (p->vcpus[i] != v)
			continue;
		p->vcpus[i] = p->vcpus[p->nr_vcpus - 1];
		__atomic_store_n(&p->nr_vcpus, p->nr_vcpus - 1, __ATOMIC_RELEASE);
		p->rr = 0;
		break;
	}
	spin_unlock(&p->lock);
	/* arm_timer reads the set without the lock: have the CPU look at it again, so a vCPU
	 * moved in the array while it read cannot lose its wake-up deadline. */
	sched_poke(v->pcpu);
}

void sched_poke(u32 cpu)
{
	struct pcpu *p = &pcpus[cpu];

	__atomic_store_n(&p->need_resched, 1, __ATOMIC_RELEASE);
	if (p != this_pcpu() && p->online)
		arch_kick(cpu);
}

static u32 state_of(struct vcpu *v, u64 now)
{
	u32 st = __atomic_load_n(&v->state, __ATOMIC_ACQUIRE);

	if (st == VCPU_WFI && v->wake_at && now >= v->wake_at) {
		u32 expected = VCPU_WFI;
		__atomic_compare_exchange_n(&v->state, &expected, VCPU_RUNNABLE, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		st = __atomic_load_n(&v->state, __ATOMIC_ACQUIRE);
	}
	return st;
}

/* The highest-priority runnable vCPU; among equals, the first after the last one picked. */
static struct vcpu *pick(struct pcpu *p, u64 now)
{
	u32 n = __atomic_load_n(&p->nr_vcpus, __ATOMIC_ACQUIRE);
	struct vcpu *best = NULL;
	u32 best_i = 0;

	for (u32 k = 1; k <= n; k++) {
		u32 i = (p->rr + k) % n;
		struct vcpu *v = p->vcpus[i];

		if (state_of(v, now) != VCPU_RUNNABLE ||
		    __atomic_load_n(&v->vm->paused, __ATOMIC_ACQUIRE))
			continue;
		if (!best || v->priority > best->priority) {
			best = v;
			best_i = i;
		}
	}
	if (best)
		p->rr = best_i;
	return best;
}

/* Programs the CPU's timer for the end of the slice (if an equal vCPU waits) or the earliest
 * WFI deadline that could matter, or turns it off. */
static void arm_timer(struct pcpu *p, struct vcpu *cur, u64 now)
{
	u32 n = __atomic_load_n(&p->nr_vcpus, __ATOMIC_ACQUIRE);
	u64 deadline = ~0ULL;
	bool contended = false;

	for (u32 i = 0; i < n; i++) {
		struct vcpu *v = p->vcpus[i];
		u32 st = __atomic_load_n(&v->state, __ATOMIC_ACQUIRE);

		if (v == cur || (cur && v->priority < cur->priority))
			continue;
		if (st == VCPU_RUNNABLE) {
			contended = true;
		} else if (st == VCPU_WFI && v->wake_at) {
			/* A waiting vCPU still loaded here is woken by its own timer's interrupt;
			 * only the timers the hypervisor emulates need this CPU's timer. */
			u64 w = v == p->current ? arch_vcpu_emulated_deadline(v) : v->wake_at;
			if (w)
				deadline = MIN(deadline, w);
		}
	}
	if (contended && cur) {
		if (!p->slice_end)
			p->slice_end = now + slice_ticks();
		deadline = MIN(deadline, p->slice_end);
	} else {
		p->slice_end = 0;
	}
	if (cur) {
		u64 emulated = arch_vcpu_emulated_deadline(cur);
		if (emulated)
			deadline = MIN(deadline, emulated);
	}
	deadline = deadline == ~0ULL ? 0 : deadline;
	if (deadline != p->timer_deadline) { /* reprogramming is a trap-free but costly write */
		p->timer_deadline = deadline;
		arch_timer_program(deadline);
	}
}

static void unload(struct pcpu *p)
{
	struct vcpu *cur = p->current;

	arch_vcpu_save(cur);
	p->current = NULL;
	p->cur_regs = NULL;
	cur->run_ticks += arch_counter() - cur->loaded_at;
	__atomic_store_n(&cur->running, false, __ATOMIC_RELEASE);
}

static void switch_to(struct pcpu *p, struct vcpu *next, u64 now)
{
	bool boot = __atomic_load_n(&next->boot_pending, __ATOMIC_ACQUIRE) &&
		    __atomic_exchange_n(&next->boot_pending, false, __ATOMIC_ACQ_REL);

	if (p->current == next && !boot)
		return;
	if (p->current)
		unload(p);
	if (boot) {
		arch_vcpu_reset(next, next->boot_entry, next->boot_arg);
		next->on_pending = false;
	}
	/* next->running was set when it was picked (schedule) */
	next->loaded_at = now;
	p->current = next;
	p->cur_regs = &next->arch.regs;
	arch_vcpu_load(next);
	p->slice_end = now + slice_ticks();
}

/* Picks and loads the next vCPU, idling with WFI until there is one. A vCPU waiting in WFI
 * stays loaded while nothing else wants the CPU: if it is the next to run, as it usually is,
 * its state never leaves the hardware. Any other state (off, stopping) is unloaded at once,
 * so VM-wide operations waiting for it to leave its CPU proceed. */
static void schedule(struct pcpu *p)
{
	for (;;) {
		u64 now = arch_counter();
		struct vcpu *next;

		spin_lock(&p->lock); /* against sched_remove: what is picked is marked loaded */
		next = pick(p, now);
		if (next)
			__atomic_store_n(&next->running, true, __ATOMIC_RELEASE);
		spin_unlock(&p->lock);
		if (next) {
			switch_to(p, next, now);
			arm_timer(p, next, now);
			return;
		}
		if (p->current && __atomic_load_n(&p->current->state, __ATOMIC_ACQUIRE) != VCPU_WFI)
			unload(p);
		arm_timer(p, NULL, now);
		arch_wait_for_interrupt();
		arch_irq_poll();
	}
}

void sched_exit_done(void)
{
	struct pcpu *p = this_pcpu();

	if (!__atomic_load_n(&p->need_resched, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&p->need_resched, 0, __ATOMIC_RELEASE);
	schedule(p);
}

void sched_park_current(void)
{
	struct pcpu *p = this_pcpu();

	if (p->current)
		unload(p);
	p->need_resched = 1;
}

void sched_rearm_timer(void)
{
	struct pcpu *p = this_pcpu();

	arm_timer(p, p->current, arch_counter());
}

void sched_timer(void)
{
	struct pcpu *p = this_pcpu();

	p->timer_deadline = 0; /* it fired and the interrupt handler turned it off */
	if (p->current)
		arch_vcpu_timer_tick(p->current);
	if (p->slice_end && arch_counter() >= p->slice_end)
		p->slice_end = 0; /* slice over: the next pick rotates */
	p->need_resched = 1;
}

_Noreturn void sched_start(void)
{
	struct pcpu *p = this_pcpu();

	p->need_resched = 0;
	schedule(p);
	arch_enter_current();
}
