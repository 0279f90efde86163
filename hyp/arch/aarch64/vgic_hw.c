/* Passed-through SPIs: a physical interrupt of a device a VM owns becomes the same virtual
 * INTID in that VM, delivered in a hardware-linked list register (HW = 1, pINTID). */
#include <arch/vgic.h>
#include <bulkhead/arch.h>
#include <bulkhead/pcpu.h>
#include <bulkhead/vm.h>
#include <drivers/gicv3.h>

/* The VM owning each passed-through INTID; written while VMs are created, before the other
 * CPUs start, and never changed afterwards (no VM destroy yet). */
static struct vm *owner[VGIC_NR_IRQS];

void arch_vm_passthrough_claim(struct vm *vm)
{
	u64 hwid = pcpus[vm->vcpu[0].pcpu].hwid;

	for (u32 n = 0; n < vm->cfg.nr_pt; n++)
		for (u32 k = 0; k < vm->cfg.pt[n].nr_irqs; k++) {
			u32 intid = vm->cfg.pt[n].irq[k];

			owner[intid] = vm;
			gic_spi_setup(intid, hwid); /* enabled when the guest enables it */
		}
}

void arch_vm_passthrough_stop(struct vm *vm)
{
	for (u32 n = 0; n < vm->cfg.nr_pt; n++)
		for (u32 k = 0; k < vm->cfg.pt[n].nr_irqs; k++)
			gic_spi_quiesce(vm->cfg.pt[n].irq[k]);
}

u32 arch_irq_nr_lines(void)
{
	return gic_nr_lines();
}

/* The physical SPI stays active after the priority drop: it cannot fire again until the
 * guest completes the virtual one (the list register's HW bit deactivates it then), so a
 * level-sensitive line is resampled by the GIC itself and nothing needs masking. */
bool vgic_hw_forward(u32 intid)
{
	struct vm *vm = intid < VGIC_NR_IRQS ? owner[intid] : NULL;

	if (!vm)
		return false;
	gic_drop(intid);
	if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_RUNNING) {
		gic_spi_quiesce(intid); /* stopping or off: nobody will complete it */
		return true;
	}
	vgic_raise(vm, NULL, intid); /* on the vCPU the guest routed it to */
	return true;
}

/* Guest register writes mirrored to the physical SPI: enable and disable, so a disabled
 * device interrupt does not fire at all, and a deactivation (ICACTIVER), so the physical
 * one is not left active when the guest clears the virtual one by hand. */
void vgic_hw_changed(u32 intid, enum vgic_field f, bool set)
{
	if (f == VF_ENABLE)
		gic_spi_enable(intid, set);
	else if (f == VF_ACTIVE && !set)
		gic_spi_deactivate(intid);
}
