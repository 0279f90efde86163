/* The AArch64 part of a VM: its stage-2 translation and its virtual GIC distributor. */
#ifndef ARCH_VM_H
#define ARCH_VM_H

#include <arch/stage2.h>
#include <arch/vgic.h>

struct arch_vm {
	struct arch_stage2 s2;
	struct vgic_dist vgic;
};

#endif
