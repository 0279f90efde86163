/* The virtual GIC redistributors (GICR): one pair of 64 KiB frames per vCPU, in vCPU order.
 * RD_base: identification, affinity, wake; SGI_base: the vCPU's SGIs and PPIs. */
#include <arch/vgic.h>
#include <bulkhead/vm.h>

#define FRAME 0x10000
#define GICR_CTLR 0x0000
#define GICR_IIDR 0x0004
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_ID 0xFFD0
#define SGI_IGROUPR0 0x0080
#define SGI_ISENABLER0 0x0100
#define SGI_ICENABLER0 0x0180
#define SGI_ISPENDR0 0x0200
#define SGI_ICPENDR0 0x0280
#define SGI_ISACTIVER0 0x0300
#define SGI_ICACTIVER0 0x0380
#define SGI_IPRIORITYR 0x0400
#define SGI_ICFGR0 0x0C00
#define SGI_ICFGR1 0x0C04

#define WAKER_SLEEP (1u << 1)
#define WAKER_CHILDREN_ASLEEP (1u << 2)
#define TYPER_LAST (1u << 4)

static const struct {
	u32 off;
	enum vgic_field f;
	bool set;
} bitregs[] = {
	{ SGI_IGROUPR0, VF_GROUP, true },     { SGI_ISENABLER0, VF_ENABLE, true },
	{ SGI_ICENABLER0, VF_ENABLE, false }, { SGI_ISPENDR0, VF_PENDING, true },
	{ SGI_ICPENDR0, VF_PENDING, false },  { SGI_ISACTIVER0, VF_ACTIVE, true },
	{ SGI_ICACTIVER0, VF_ACTIVE, false },
};

static u64 typer(const struct vcpu *v)
{
	bool last = v->id == v->vm->nr_vcpus - 1;

	/* Affinity (Aff0 = vCPU index), processor number, Last. */
	return ((u64)v->id << 32) | ((u64)v->id << 8) | (last ? TYPER_LAST : 0);
}

static bool rd_read(struct vcpu *v, u64 off, u32 width, u64 *value)
{
	if (off == GICR_TYPER || off == GICR_TYPER + 4)
		return vgic_reg64_read(typer(v), off - GICR_TYPER, width, value);
	if (width != 4)
		return false;
	switch (off) {
	case GICR_IIDR: *value = 0x43B; return true;
	case GICR_WAKER:
		*value = v->arch.vgic.asleep ? WAKER_SLEEP | WAKER_CHILDREN_ASLEEP : 0;
		return true;
	}
	*value = off >= GICR_ID ? vgic_id_reg(off) : 0; /* CTLR, LPI registers: RAZ */
	return true;
}

static bool sgi_read(struct vcpu *v, u64 off, u32 width, u64 *value)
{
	if (off >= SGI_IPRIORITYR && off < SGI_IPRIORITYR + 32) {
		if (width != 1 && width != 4)
			return false;
		*value = vgic_prio_read(v->vm, v, (u32)(off - SGI_IPRIORITYR), width);
		return true;
	}
	if (width != 4)
		return false;
	for (u32 i = 0; i < ARRAY_SIZE(bitregs); i++) {
		if (off == bitregs[i].off) {
			vgic_mmio_begin(v->vm); /* pending/active bits must see the list registers */
			*value = vgic_bits_read(v->vm, v, 0, bitregs[i].f);
			return true;
		}
	}
	if (off == SGI_ICFGR0 || off == SGI_ICFGR1) {
		*value = vgic_cfg_read(v->vm, v, off == SGI_ICFGR0 ? 0 : 16);
		return true;
	}
	*value = 0;
	return true;
}

static bool sgi_write(struct vcpu *v, u64 off, u32 width, u64 value)
{
	if (off >= SGI_IPRIORITYR && off < SGI_IPRIORITYR + 32) {
		if (width != 1 && width != 4)
			return false;
		vgic_prio_write(v->vm, v, (u32)(off - SGI_IPRIORITYR), width, (u32)value);
		return true;
	}
	if (width != 4)
		return false;
	for (u32 i = 0; i < ARRAY_SIZE(bitregs); i++) {
		if (off == bitregs[i].off) {
			vgic_mmio_begin(v->vm);
			vgic_bits_reg_write(v->vm, v, 0, bitregs[i].f, bitregs[i].set, (u32)value);
			return true;
		}
	}
	if (off == SGI_ICFGR1)
		vgic_cfg_write(v->vm, v, 16, (u32)value);
	return true; /* ICFGR0 (SGIs are edge), reserved: ignored */
}

static bool redist_read(void *dev, u64 off, u32 width, u64 *value)
{
	struct vm *vm = dev;
	struct vcpu *v = vm_vcpu(vm, (u32)(off / VGIC_GICR_STRIDE));

	if (!v)
		return false;
	off %= VGIC_GICR_STRIDE;
	return off < FRAME ? rd_read(v, off, width, value) : sgi_read(v, off - FRAME, width, value);
}

static bool redist_write(void *dev, u64 off, u32 width, u64 value)
{
	struct vm *vm = dev;
	struct vcpu *v = vm_vcpu(vm, (u32)(off / VGIC_GICR_STRIDE));

	if (!v)
		return false;
	off %= VGIC_GICR_STRIDE;
	if (off >= FRAME)
		return sgi_write(v, off - FRAME, width, value);
	if (width != 4 && width != 8)
		return false;
	if (off == GICR_WAKER)
		v->arch.vgic.asleep = (value & WAKER_SLEEP) != 0;
	return true; /* everything else in RD_base is read-only or RAZ/WI */
}

const struct mmio_ops vgic_redist_ops = { "gicr", redist_read, redist_write };
