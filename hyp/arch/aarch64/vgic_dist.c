/* The virtual GIC distributor (GICD): global control, and the shared interrupts' enable,
 * pending, active, group, priority, configuration and routing. Affinity routing is always on
 * and the GIC has a single security state, as QEMU virt's is without EL3. */
#include <arch/vgic.h>
#include <bulkhead/vm.h>

#define GICD_CTLR 0x0000
#define GICD_TYPER 0x0004
#define GICD_IIDR 0x0008
#define GICD_IGROUPR 0x0080
#define GICD_ISENABLER 0x0100
#define GICD_ICENABLER 0x0180
#define GICD_ISPENDR 0x0200
#define GICD_ICPENDR 0x0280
#define GICD_ISACTIVER 0x0300
#define GICD_ICACTIVER 0x0380
#define GICD_IPRIORITYR 0x0400
#define GICD_ICFGR 0x0C00
#define GICD_IROUTER 0x6000
#define GICD_ID 0xFFD0

#define CTLR_ARE (1u << 4)
#define CTLR_DS (1u << 6)
#define CTLR_ENABLES 3u
#define IIDR_ARM 0x43B

struct bitreg {
	u32 base;
	enum vgic_field f;
	bool set;
};

static const struct bitreg bitregs[] = {
	{ GICD_IGROUPR, VF_GROUP, true },     { GICD_ISENABLER, VF_ENABLE, true },
	{ GICD_ICENABLER, VF_ENABLE, false }, { GICD_ISPENDR, VF_PENDING, true },
	{ GICD_ICPENDR, VF_PENDING, false },  { GICD_ISACTIVER, VF_ACTIVE, true },
	{ GICD_ICACTIVER, VF_ACTIVE, false },
};

/* The bit register containing off, or NULL. */
static const struct bitreg *find_bitreg(u64 off)
{
	for (u32 i = 0; i < ARRAY_SIZE(bitregs); i++)
		if (off >= bitregs[i].base && off < bitregs[i].base + 0x80)
			return &bitregs[i];
	return NULL;
}

static bool dist_read(void *dev, u64 off, u32 width, u64 *value)
{
	struct vm *vm = dev;
	const struct bitreg *br;

	if (off < GICD_IGROUPR) { /* control and identification: the common reads */
		if (width != 4)
			return false;
		switch (off) {
		case GICD_CTLR:
			*value = vm->arch.vgic.ctlr | CTLR_ARE | CTLR_DS;
			return true;
		case GICD_TYPER:
			/* ITLinesNumber, IDbits = 10 bits (9), CPUNumber ignored under ARE */
			*value = (VGIC_NR_IRQS / 32 - 1) | (9u << 19);
			return true;
		case GICD_IIDR:
			*value = IIDR_ARM;
			return true;
		}
		*value = 0;
		return true;
	}
	br = find_bitreg(off);
	if (br)
		vgic_mmio_begin(vm); /* pending/active bits must see the list registers */

	if (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + VGIC_NR_IRQS) {
		if (width != 1 && width != 4)
			return false;
		*value = off < GICD_IPRIORITYR + 32 ? 0 :
			 vgic_prio_read(vm, NULL, (u32)(off - GICD_IPRIORITYR), width);
		return true;
	}
	if (off >= GICD_IROUTER + 8 * 32 && off < GICD_IROUTER + 8 * VGIC_NR_IRQS) {
		u32 intid = (u32)((off - GICD_IROUTER) / 8);
		return vgic_reg64_read(vm->arch.vgic.spi[intid - 32].target, off & 7, width, value);
	}
	if (width != 4)
		return false;
	if (br) {
		u32 first = (u32)(off - br->base) * 8;
		*value = first && first < VGIC_NR_IRQS ? vgic_bits_read(vm, NULL, first, br->f) : 0;
		return true;
	}
	if (off >= GICD_ICFGR && off < GICD_ICFGR + VGIC_NR_IRQS / 4) {
		u32 first = (u32)(off - GICD_ICFGR) * 4;
		*value = first >= 32 ? vgic_cfg_read(vm, NULL, first) : 0;
		return true;
	}
	*value = off >= GICD_ID ? vgic_id_reg(off) : 0; /* reserved: RAZ */
	return true;
}

static bool dist_write(void *dev, u64 off, u32 width, u64 value)
{
	struct vm *vm = dev;
	const struct bitreg *br = find_bitreg(off);

	if (br)
		vgic_mmio_begin(vm);
	if (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + VGIC_NR_IRQS) {
		if (width != 1 && width != 4)
			return false;
		if (off >= GICD_IPRIORITYR + 32)
			vgic_prio_write(vm, NULL, (u32)(off - GICD_IPRIORITYR), width, (u32)value);
		return true;
	}
	if (off >= GICD_IROUTER + 8 * 32 && off < GICD_IROUTER + 8 * VGIC_NR_IRQS) {
		u32 intid = (u32)((off - GICD_IROUTER) / 8);
		if (width != 8 && width != 4)
			return false;
		if (!(off & 4)) { /* Aff0 lives in the low word; 1-of-N (IRM) goes to vCPU 0 */
			u32 aff0 = value & 0xFF;
			bool ok = !(value & BIT(31)) && !(value & 0xFFFF00) && aff0 < vm->nr_vcpus;
			spin_lock(&vm->arch.vgic.lock);
			vm->arch.vgic.spi[intid - 32].target = ok ? (u8)aff0 : 0;
			vm->arch.vgic.spi_cand |= BIT(intid - 32); /* the new target looks at it */
			spin_unlock(&vm->arch.vgic.lock);
			vgic_notify(&vm->vcpu[ok ? aff0 : 0]);
		}
		return true;
	}
	if (width != 4)
		return false;
	if (br) {
		u32 first = (u32)(off - br->base) * 8;
		if (first && first < VGIC_NR_IRQS)
			vgic_bits_reg_write(vm, NULL, first, br->f, br->set, (u32)value);
		return true;
	}
	if (off >= GICD_ICFGR && off < GICD_ICFGR + VGIC_NR_IRQS / 4) {
		u32 first = (u32)(off - GICD_ICFGR) * 4;
		if (first >= 32)
			vgic_cfg_write(vm, NULL, first, (u32)value);
		return true;
	}
	if (off == GICD_CTLR) {
		vm->arch.vgic.ctlr = (u32)value & CTLR_ENABLES;
		vgic_touch_all(vm);
	}
	return true; /* read-only and reserved registers ignore writes */
}

const struct mmio_ops vgic_dist_ops = { "gicd", dist_read, dist_write };
