/* The per-CPU scheduler: fixed priorities, round-robin time slices among equals, tickless
 * when a vCPU is alone. */
#ifndef BULKHEAD_SCHED_H
#define BULKHEAD_SCHED_H

#include <bulkhead/types.h>

struct vcpu;

#define SCHED_SLICE_US 10000

/* Adds a vCPU to its physical CPU's set. */
int sched_add(struct vcpu *v);
/* Removes a vCPU (already off) from its CPU's set once it is not loaded there (VM destroy). */
void sched_remove(struct vcpu *v);
/* Called at the end of every exit: if something changed, picks the vCPU to run next (idling
 * the CPU until there is one) and loads it. */
void sched_exit_done(void);
/* Marks that CPU cpu must reconsider what it runs, and interrupts it if it is not us. */
void sched_poke(u32 cpu);
/* Unloads the current vCPU (its state saved): used before VM-wide operations. */
void sched_park_current(void);
/* Reprograms this CPU's timer after the loaded vCPU changed an emulated timer. */
void sched_rearm_timer(void);
/* The timer interrupt of this CPU fired. */
void sched_timer(void);
/* Enters the scheduler on a CPU for the first time. */
_Noreturn void sched_start(void);

#endif
