/* Per physical CPU data: the vCPU it runs, the vCPUs pinned to it, its stack. */
#ifndef BULKHEAD_PCPU_H
#define BULKHEAD_PCPU_H

#include <arch/percpu.h>
#include <bulkhead/spinlock.h>
#include <bulkhead/types.h>

#define MAX_CPUS 8
#define PCPU_MAX_VCPUS 16
#define STACK_SIZE (16 * 1024)

struct vcpu;
struct arch_regs;

struct pcpu {
	struct arch_regs *cur_regs; /* first: the vectors load it; registers of current */
	struct vcpu *current;       /* vCPU loaded on this CPU, or NULL */
	u32 id;
	u64 hwid;                   /* hardware id (MPIDR on Arm) */
	bool online;
	u32 need_resched;           /* set by kicks, timers and state changes */
	u32 nr_vcpus;
	struct vcpu *vcpus[PCPU_MAX_VCPUS]; /* vCPUs pinned here */
	u32 rr;                     /* round-robin cursor into vcpus[] */
	u64 slice_end;              /* counter value ending the current time slice, 0 if none */
	u64 timer_deadline;         /* what this CPU's timer is programmed for, 0 if off */
	spinlock_t lock;
};

extern struct pcpu pcpus[MAX_CPUS];
extern u32 nr_pcpus;

/* This CPU's data (the arch port keeps it one instruction away). */
static inline struct pcpu *this_pcpu(void)
{
	return arch_this_pcpu();
}

#endif
