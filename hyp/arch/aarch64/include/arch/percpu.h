/* The current physical CPU's data, found in one instruction: TPIDR_EL2 holds its address. */
#ifndef ARCH_PERCPU_H
#define ARCH_PERCPU_H

struct pcpu;

static inline struct pcpu *arch_this_pcpu(void)
{
	unsigned long v;

	__asm__("mrs %0, tpidr_el2" : "=r"(v));
	return (struct pcpu *)v;
}

#endif
