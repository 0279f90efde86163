/* A VM's stage-2 translation: tables from the page allocator, a VMID, TLB maintenance after
 * every change, and the VM's virtual counter offset. */
#include <arch/stage2.h>
#include <arch/sysreg.h>
#include <arch/vgic.h>
#include <bulkhead/arch.h>
#include <bulkhead/errno.h>
#include <bulkhead/palloc.h>
#include <bulkhead/vm.h>

static u64 *table_alloc(void *ctx, paddr_t *pa)
{
	(void)ctx;
	*pa = page_alloc(1, PAGE_SIZE);
	return *pa ? arch_phys_to_virt(*pa) : NULL;
}

static u64 *table_virt(void *ctx, paddr_t pa)
{
	(void)ctx;
	return arch_phys_to_virt(pa);
}

static void table_free(void *ctx, paddr_t pa)
{
	(void)ctx;
	page_free(pa, 1);
}

static const struct s2pt_ops s2_ops = { table_alloc, table_virt, table_free, NULL };

/* Invalidates every stage-1 and stage-2 TLB entry of the VM on all CPUs. */
static void tlb_flush_vm(const struct vm *vm)
{
	u64 saved = read_sysreg(vttbr_el2);

	dsb(ishst);
	write_sysreg(vttbr_el2, vm->arch.s2.vttbr);
	isb();
	__asm__ volatile("tlbi vmalls12e1is" ::: "memory");
	dsb(ish);
	write_sysreg(vttbr_el2, saved);
	isb();
}

int arch_vm_init(struct vm *vm)
{
	int r = s2pt_init(&vm->arch.s2.pt, &s2_ops);

	if (r)
		return r;
	vm->arch.s2.vmid = (u16)(vm->id + 1); /* VMID 0 is never used by a guest */
	vm->arch.s2.vttbr = vm->arch.s2.pt.root_pa | ((u64)vm->arch.s2.vmid << 48);
	vm->arch.s2.cntvoff = arch_counter(); /* the guest's virtual counter starts near 0 */
	tlb_flush_vm(vm);
	vgic_init_vm(vm);
	r = mmio_add(&vm->mmio, VGIC_GICD_BASE, VGIC_GICD_SIZE, &vgic_dist_ops, vm);
	if (!r)
		r = mmio_add(&vm->mmio, VGIC_GICR_BASE, VGIC_GICR_STRIDE * vm->cfg.vcpus,
			     &vgic_redist_ops, vm);
	if (r)
		s2pt_destroy(&vm->arch.s2.pt);
	return r;
}

void arch_vm_reset(struct vm *vm)
{
	vgic_init_vm(vm);
}

void arch_vm_irq_line(struct vm *vm, u32 intid, bool level)
{
	vgic_set_level(vm, NULL, intid, level);
}

void arch_vm_irq_raise(struct vm *vm, u32 intid)
{
	struct vcpu *t = vgic_target(vm, NULL, intid);
	struct virq *q = t ? vgic_virq(t, intid) : NULL;
	bool already;

	if (!q)
		return;
	/* Already pending and in no list register: another edge changes nothing, so the target
	 * is not disturbed again (a peer ringing a doorbell in a loop costs it nothing). */
	spin_lock(&vm->arch.vgic.lock);
	already = q->pending && !q->lr;
	spin_unlock(&vm->arch.vgic.lock);
	if (!already)
		vgic_raise(vm, NULL, intid);
}

int arch_stage2_map_ram(struct vm *vm, gpa_t ipa, paddr_t pa, u64 size)
{
	int r = s2pt_map(&vm->arch.s2.pt, ipa, pa, size, S2_MEM_NORMAL);

	tlb_flush_vm(vm);
	return r;
}

int arch_stage2_map_device(struct vm *vm, gpa_t ipa, paddr_t pa, u64 size)
{
	int r = s2pt_map(&vm->arch.s2.pt, ipa, pa, size, S2_MEM_DEVICE);

	tlb_flush_vm(vm);
	return r;
}

void arch_vm_destroy(struct vm *vm)
{
	s2pt_destroy(&vm->arch.s2.pt);
	tlb_flush_vm(vm); /* drops cached walks through the freed tables too */
}
