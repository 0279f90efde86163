/* Stage-2 aborts: an access to a device the VM owns is emulated; anything else (no RAM or
 * device there, or an access that cannot be emulated) gets an external abort injected, as
 * the hardware would raise, and a line on the console. */
#include <arch/cpu.h>
#include <arch/mmio_decode.h>
#include <arch/sysreg.h>
#include <bulkhead/vm.h>

static void write_back(struct vcpu *v, const struct mmio_access *a)
{
	u64 val = a->value;

	if (a->reg == 31)
		return; /* XZR */
	if (a->sign_extend && a->width < 8) {
		u32 bits = a->width * 8;
		if (val & (1ULL << (bits - 1)))
			val |= ~0ULL << bits;
	}
	if (!a->reg64)
		val &= 0xFFFFFFFFULL;
	v->arch.regs.x[a->reg] = val;
}

void handle_dabt(struct vcpu *v, u64 esr)
{
	u64 far = read_sysreg(far_el2);
	gpa_t ipa = dabt_ipa(read_sysreg(hpfar_el2), far);
	struct mmio_access a;
	bool write = (esr & BIT(6)) != 0;
	struct mmio_region *r = mmio_find(&v->vm->mmio, ipa);

	if (!r) {
		__atomic_fetch_add(&v->vm->mmio_unowned, 1, __ATOMIC_RELAXED);
		vm_report(v, "data abort at IPA 0x%lx (%s, pc 0x%lx): no RAM or device there; "
			  "external abort injected", ipa, write ? "write" : "read", v->arch.regs.pc);
		inject_dabt(v, far, write);
		return;
	}
	if (!mmio_decode(esr, ipa, &a)) {
		vm_report(v, "data abort at IPA 0x%lx (pc 0x%lx): device access without a valid "
			  "syndrome (e.g. load/store pair) cannot be emulated; external abort injected",
			  ipa, v->arch.regs.pc);
		inject_dabt(v, far, write);
		return;
	}
	if (a.write) {
		a.value = vcpu_get_reg(v->arch.regs.x, a.reg);
		if (a.width < 8)
			a.value &= (1ULL << (a.width * 8)) - 1;
	}
	v->mmio_hits[r->index]++; /* this vCPU's own counter: no atomic */
	if (!mmio_access_region(r, &a)) {
		vm_report(v, "data abort at IPA 0x%lx (%s of %u bytes, pc 0x%lx): refused by the "
			  "device; external abort injected", ipa, a.write ? "write" : "read",
			  a.width, v->arch.regs.pc);
		inject_dabt(v, far, a.write);
		return;
	}
	if (!a.write)
		write_back(v, &a);
	v->arch.regs.pc += 4;
}

void handle_iabt(struct vcpu *v, u64 esr)
{
	u64 far = read_sysreg(far_el2);
	gpa_t ipa = dabt_ipa(read_sysreg(hpfar_el2), far);

	(void)esr;
	vm_report(v, "instruction fetch from IPA 0x%lx (pc 0x%lx): not RAM; external abort "
		  "injected", ipa, v->arch.regs.pc);
	inject_iabt(v, far);
}
