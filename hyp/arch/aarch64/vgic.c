/* The virtual GIC's interrupt state and the list registers (LRs).
 *
 * The hypervisor's struct virq is authoritative while an interrupt is not in an LR. While a
 * vCPU is loaded, the LRs hold the interrupts it is handling: the guest acknowledges and
 * completes them with no exit. When something changes (an interrupt raised, a register
 * written, a maintenance interrupt), the vCPU is marked dirty and, before it next enters the
 * guest, vgic_sync() folds the LRs back (what did the guest complete?) and refills them with
 * the highest-priority pending interrupts. An exit that changed nothing costs one flag test.
 * More pending interrupts than LRs: the underflow maintenance interrupt asks for a refill. */
#include <arch/cpu.h>
#include <arch/sysreg.h>
#include <arch/vgic.h>
#include <bulkhead/arch.h>
#include <bulkhead/pcpu.h>
#include <bulkhead/sched.h>
#include <bulkhead/string.h>
#include <bulkhead/vm.h>
#include <drivers/gicv3.h>

#define LR_STATE_SHIFT 62
#define LR_PENDING (1ULL << 62)
#define LR_ACTIVE (1ULL << 63)
#define LR_GROUP1 (1ULL << 60)
#define LR_HW (1ULL << 61)
#define LR_PINTID_SHIFT 32
#define LR_EOI (1ULL << 41)
#define LR_PRIO_SHIFT 48
#define ICH_HCR_EN BIT(0)
#define ICH_HCR_UIE BIT(1)

static u32 nr_lrs;

void vgic_probe(void)
{
	nr_lrs = (u32)(read_sysreg(ICH_VTR_EL2) & 0x1F) + 1;
	if (nr_lrs > VGIC_MAX_LRS)
		nr_lrs = VGIC_MAX_LRS;
}

#define LR_CASE(n, crm, op2)                                                   \
	case n:                                                                \
		if (write)                                                     \
			write_sysreg(S3_4_C12_##crm##_##op2, val);             \
		else                                                           \
			val = read_sysreg(S3_4_C12_##crm##_##op2);             \
		break;

/* Reads (write = false) or writes ICH_LR<n>_EL2. */
static u64 lr_access(u32 n, bool write, u64 val)
{
	switch (n) {
		LR_CASE(0, C12, 0) LR_CASE(1, C12, 1) LR_CASE(2, C12, 2) LR_CASE(3, C12, 3)
		LR_CASE(4, C12, 4) LR_CASE(5, C12, 5) LR_CASE(6, C12, 6) LR_CASE(7, C12, 7)
		LR_CASE(8, C13, 0) LR_CASE(9, C13, 1) LR_CASE(10, C13, 2) LR_CASE(11, C13, 3)
		LR_CASE(12, C13, 4) LR_CASE(13, C13, 5) LR_CASE(14, C13, 6) LR_CASE(15, C13, 7)
	}
	return val;
}

_Static_assert(VGIC_NR_SPIS == 64, "spi_cand is one u64");

/* Notes that intid may now need a list register (pending, active or enabled changed). The
 * candidate sets are supersets: the search drops what turns out not to be a candidate, so
 * only a state change that creates one must come through here. Caller holds the lock. */
static void touch(struct vm *vm, struct vcpu *v, u32 intid)
{
	if (intid < VGIC_NR_PRIVATE)
		v->arch.vgic.cand |= BIT(intid);
	else if (intid < VGIC_NR_IRQS)
		vm->arch.vgic.spi_cand |= BIT(intid - VGIC_NR_PRIVATE);
}

static void virq_reset(struct virq *q, bool edge)
{
	memset(q, 0, sizeof(*q));
	q->edge = edge;
	q->group1 = true;
}

void vgic_init_vm(struct vm *vm)
{
	struct vgic_dist *d = &vm->arch.vgic;

	memset(d, 0, sizeof(*d));
	for (u32 i = 0; i < VGIC_NR_SPIS; i++)
		virq_reset(&d->spi[i], false);
	for (u32 n = 0; n < vm->cfg.nr_pt; n++)
		for (u32 k = 0; k < vm->cfg.pt[n].nr_irqs; k++)
			d->spi[vm->cfg.pt[n].irq[k] - VGIC_NR_PRIVATE].hw = true;
}

void vgic_init_vcpu(struct vcpu *v)
{
	struct vgic_cpu *c = &v->arch.vgic;

	memset(c, 0, sizeof(*c));
	for (u32 i = 0; i < VGIC_NR_PRIVATE; i++)
		virq_reset(&c->priv[i], i < 16); /* SGIs are edge, PPIs level by default */
	c->asleep = true;
}

struct virq *vgic_virq(struct vcpu *v, u32 intid)
{
	if (intid < VGIC_NR_PRIVATE)
		return &v->arch.vgic.priv[intid];
	if (intid < VGIC_NR_IRQS)
		return &v->vm->arch.vgic.spi[intid - VGIC_NR_PRIVATE];
	return NULL;
}

struct vcpu *vgic_target(struct vm *vm, struct vcpu *self, u32 intid)
{
	if (intid < VGIC_NR_PRIVATE)
		return self;
	return vm_vcpu(vm, vm->arch.vgic.spi[intid - VGIC_NR_PRIVATE].target);
}

void vgic_touch_all(struct vm *vm)
{
	spin_lock(&vm->arch.vgic.lock);
	vm->arch.vgic.spi_cand = ~0ULL;
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		vm->vcpu[i].arch.vgic.cand = ~0u;
	spin_unlock(&vm->arch.vgic.lock);
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		vgic_notify(&vm->vcpu[i]);
}

void vgic_notify(struct vcpu *t)
{
	__atomic_store_n(&t->arch.vgic.dirty, true, __ATOMIC_RELEASE);
	vcpu_wake(t);
}

/* Enabled, its group enabled in the distributor, and pending (or its line high). */
static bool deliverable(const struct vm *vm, const struct virq *q)
{
	u32 group_enable = q->group1 ? 2 : 1;

	return q->enabled && (vm->arch.vgic.ctlr & group_enable) &&
	       (q->pending || (!q->edge && q->level));
}

void vgic_raise(struct vm *vm, struct vcpu *self, u32 intid)
{
	struct vcpu *t = vgic_target(vm, self, intid);
	struct virq *q = t ? vgic_virq(t, intid) : NULL;

	if (!q)
		return;
	spin_lock(&vm->arch.vgic.lock);
	q->pending = true;
	touch(vm, t, intid);
	spin_unlock(&vm->arch.vgic.lock);
	vgic_notify(t);
}

void vgic_set_level(struct vm *vm, struct vcpu *self, u32 intid, bool level)
{
	struct vcpu *t = vgic_target(vm, self, intid);
	struct virq *q = t ? vgic_virq(t, intid) : NULL;
	bool changed;

	if (!q)
		return;
	spin_lock(&vm->arch.vgic.lock);
	changed = q->level != level;
	q->level = level;
	if (q->edge ? level && changed : level) /* edge-configured: latch a rising edge */
		q->pending = true;
	else if (!q->edge)
		q->pending = false;
	touch(vm, t, intid);
	spin_unlock(&vm->arch.vgic.lock);
	if (changed)
		vgic_notify(t);
}

void vgic_send_sgi(struct vcpu *v, u64 val)
{
	u32 intid = (val >> 24) & 0xF;
	bool all_others = val & BIT(40);
	u32 targets = val & 0xFFFF;
	struct vm *vm = v->vm;

	/* Our vCPUs all have Aff3.Aff2.Aff1 = 0 and range selector 0. */
	if (!all_others && ((val >> 16) & 0xFF || (val >> 32) & 0xFF || (val >> 44) & 0xF ||
			    (val >> 48) & 0xFF))
		return;
	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *t = &vm->vcpu[i];

		if (all_others ? t == v : !(targets & BIT(i)))
			continue;
		spin_lock(&vm->arch.vgic.lock);
		t->arch.vgic.priv[intid].pending = true;
		touch(vm, t, intid);
		spin_unlock(&vm->arch.vgic.lock);
		vgic_notify(t);
	}
}

/* --- list registers: only ever touched by the CPU the vCPU is loaded on --- */

static void lr_free(struct vgic_cpu *c, u32 n)
{
	lr_access(n, true, 0);
	c->lr_used &= (u16)~BIT(n);
}

/* The physical vtimer interrupt stays masked while its virtual copy is in flight; once the
 * guest completed it, resample the timer: still firing means pending again. */
static void vtimer_resample(struct vgic_cpu *c, struct virq *q)
{
	u64 ctl = read_sysreg(cntv_ctl_el0);

	q->level = (ctl & 7) == 5; /* enabled, not masked, condition met */
	q->pending = q->level;
	if (!q->level && c->vtimer_masked) {
		c->vtimer_masked = false;
		gic_set_local(this_pcpu()->id, VIRQ_VTIMER, true);
	}
}

/* Reads the LRs back into the interrupt state: what the guest acknowledged and completed.
 * Returns true if it took any interrupt out of the LRs. */
static bool fold(struct vcpu *v)
{
	struct vgic_cpu *c = &v->arch.vgic;
	bool changed = false;

	for (u32 n = 0; n < nr_lrs; n++) {
		if (!(c->lr_used & BIT(n)))
			continue;
		u32 intid = c->lr_intid[n];
		struct virq *q = vgic_virq(v, intid);
		u64 lr = lr_access(n, false, 0);

		q->active = (lr & LR_ACTIVE) != 0;
		if (lr & (LR_ACTIVE | LR_PENDING)) {
			if (lr & LR_PENDING) { /* not yet acknowledged: give it back */
				q->pending = q->edge || q->level || q->hw;
				q->lr = 0;
				lr_free(c, n);
				touch(v->vm, v, intid);
				changed = true;
			}
			continue;
		}
		q->lr = 0;
		lr_free(c, n);
		changed = true;
		if (intid == VIRQ_VTIMER)
			vtimer_resample(c, q);
		else if (!q->edge && q->level)
			q->pending = true; /* level still high after completion */
		touch(v->vm, v, intid);
	}
	return changed;
}

static u64 lr_value(const struct virq *q, u32 intid, bool pending, bool active)
{
	u64 lr = intid | ((u64)q->priority << LR_PRIO_SHIFT) | (q->group1 ? LR_GROUP1 : 0);

	if (pending)
		lr |= LR_PENDING;
	if (active)
		lr |= LR_ACTIVE;
	if (q->hw) /* the guest's completion deactivates the physical SPI, no exit */
		lr |= LR_HW | (u64)intid << LR_PINTID_SHIFT;
	else if (!q->edge)
		lr |= LR_EOI; /* level: completion must be seen to resample the line */
	return lr;
}

/* Whether q needs a list register now: not in one, and active (it must stay visible to be
 * completed) or deliverable. */
static bool wants_lr(const struct vm *vm, const struct virq *q)
{
	return !q->lr && (q->active || (q->pending && deliverable(vm, q)));
}

/* Keeps the better of the best so far and intid: active first, then by priority. */
static void consider(const struct virq *q, u32 intid, int *best, u32 *best_key)
{
	u32 key = (q->active ? 0 : 0x100) | q->priority;

	if (key < *best_key) {
		*best_key = key;
		*best = (int)intid;
	}
}

/* The best interrupt for v's next free LR, or -1. Walks only the candidate sets, dropping
 * members that are not candidates (any more). */
static int best_candidate(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct vgic_dist *d = &vm->arch.vgic;
	int best = -1;
	u32 best_key = ~0u;

	for (u32 set = v->arch.vgic.cand; set; set &= set - 1) {
		u32 i = (u32)__builtin_ctz(set);
		struct virq *q = &v->arch.vgic.priv[i];

		if (wants_lr(vm, q))
			consider(q, i, &best, &best_key);
		else
			v->arch.vgic.cand &= ~BIT(i);
	}
	for (u64 set = d->spi_cand; set; set &= set - 1) {
		u32 i = (u32)__builtin_ctzll(set);
		struct virq *q = &d->spi[i];

		if (q->target != v->id)
			continue; /* another vCPU's to deliver */
		if (wants_lr(vm, q))
			consider(q, VGIC_NR_PRIVATE + i, &best, &best_key);
		else
			d->spi_cand &= ~BIT(i);
	}
	return best;
}

static void flush(struct vcpu *v)
{
	struct vgic_cpu *c = &v->arch.vgic;
	bool overflow = false;
	int intid;

	/* Active interrupts already in an LR that became pending again. */
	for (u32 n = 0; c->lr_used && n < nr_lrs; n++) {
		if (!(c->lr_used & BIT(n)))
			continue;
		struct virq *q = vgic_virq(v, c->lr_intid[n]);
		if (q->active && q->pending && q->edge && !q->hw && deliverable(v->vm, q)) {
			q->pending = false;
			lr_access(n, true, lr_value(q, c->lr_intid[n], true, true));
		}
	}
	while ((intid = best_candidate(v)) >= 0) {
		struct virq *q = vgic_virq(v, (u32)intid);
		u32 n = 0;

		while (n < nr_lrs && (c->lr_used & BIT(n)))
			n++;
		if (n == nr_lrs) {
			overflow = true;
			break;
		}
		/* Never pending and active with HW = 1: the physical SPI holds the pending state. */
		bool pend = q->hw ? !q->active : !q->active || q->pending;
		bool inject = pend && deliverable(v->vm, q);
		lr_access(n, true, lr_value(q, (u32)intid, inject, q->active));
		v->irqs_injected += inject;
		if (q->edge || (q->hw && pend))
			q->pending = false;
		q->lr = (u8)(n + 1);
		c->lr_used |= (u16)BIT(n);
		c->lr_intid[n] = (u16)intid;
		/* In an LR it is no candidate; fold marks it again if it comes back out. */
		if (intid < VGIC_NR_PRIVATE)
			c->cand &= ~BIT(intid);
		else
			v->vm->arch.vgic.spi_cand &= ~BIT(intid - VGIC_NR_PRIVATE);
	}
	/* Underflow maintenance when more wait than fit: refill as LRs empty. */
	c->hcr = ICH_HCR_EN | (overflow ? ICH_HCR_UIE : 0);
	write_sysreg(ICH_HCR_EL2, c->hcr);
}

void vgic_sync(struct vcpu *v)
{
	spinlock_t *l = &v->vm->arch.vgic.lock;

	__atomic_store_n(&v->arch.vgic.dirty, false, __ATOMIC_RELEASE);
	spin_lock(l);
	if (v->arch.vgic.lr_used)
		fold(v);
	flush(v);
	spin_unlock(l);
}

void vgic_mmio_begin(struct vm *vm)
{
	struct vcpu *v = this_pcpu()->current;
	bool changed;

	if (!v || v->vm != vm || !v->arch.vgic.lr_used)
		return;
	spin_lock(&vm->arch.vgic.lock);
	changed = fold(v);
	spin_unlock(&vm->arch.vgic.lock);
	if (changed)
		v->arch.vgic.dirty = true; /* what fold took back, flush puts back */
}

bool vgic_has_pending(struct vcpu *v)
{
	bool any = false;

	struct vgic_dist *d = &v->vm->arch.vgic;

	spin_lock(&d->lock);
	if (v->arch.vgic.lr_used)
		fold(v);
	for (u32 set = v->arch.vgic.cand; set && !any; set &= set - 1) {
		struct virq *q = &v->arch.vgic.priv[__builtin_ctz(set)];

		any = q->pending && deliverable(v->vm, q);
	}
	for (u64 set = d->spi_cand; set && !any; set &= set - 1) {
		struct virq *q = &d->spi[__builtin_ctzll(set)];

		any = q->target == v->id && q->pending && deliverable(v->vm, q);
	}
	spin_unlock(&d->lock);
	if (any)
		v->arch.vgic.dirty = true;
	return any;
}

void vgic_load(struct vcpu *v)
{
	struct vgic_cpu *c = &v->arch.vgic;

	write_sysreg(ICH_VMCR_EL2, c->vmcr);
	write_sysreg(ICH_AP0R0_EL2, c->ap0r0);
	write_sysreg(ICH_AP1R0_EL2, c->ap1r0);
	write_sysreg(ICH_HCR_EL2, ICH_HCR_EN);
	gic_set_local(this_pcpu()->id, VIRQ_VTIMER, !c->vtimer_masked);
	c->dirty = true;
}

void vgic_save(struct vcpu *v)
{
	struct vgic_cpu *c = &v->arch.vgic;

	spin_lock(&v->vm->arch.vgic.lock);
	fold(v);
	/* Whatever is still in an LR (active) goes back to the state; flush restores it. */
	for (u32 n = 0; n < nr_lrs; n++) {
		if (c->lr_used & BIT(n)) {
			vgic_virq(v, c->lr_intid[n])->lr = 0;
			touch(v->vm, v, c->lr_intid[n]);
			lr_free(c, n);
		}
	}
	spin_unlock(&v->vm->arch.vgic.lock);
	c->vmcr = read_sysreg(ICH_VMCR_EL2);
	c->ap0r0 = read_sysreg(ICH_AP0R0_EL2);
	c->ap1r0 = read_sysreg(ICH_AP1R0_EL2);
	write_sysreg(ICH_HCR_EL2, 0);
}

void vgic_vtimer_fired(struct vcpu *v)
{
	struct virq *q = &v->arch.vgic.priv[VIRQ_VTIMER];

	gic_set_local(this_pcpu()->id, VIRQ_VTIMER, false);
	spin_lock(&v->vm->arch.vgic.lock);
	v->arch.vgic.vtimer_masked = true;
	q->level = true;
	q->pending = true;
	touch(v->vm, v, VIRQ_VTIMER);
	spin_unlock(&v->vm->arch.vgic.lock);
	vgic_notify(v); /* ends its WFI if it waits loaded on this CPU */
}

/* --- register helpers shared by the distributor and redistributor models --- */

/* The interrupt behind intid for register accesses through vCPU v's redistributor (private)
 * or the distributor (shared; v may be any vCPU). */
static struct virq *reg_virq(struct vm *vm, struct vcpu *v, u32 intid)
{
	if (intid < VGIC_NR_PRIVATE)
		return v ? &v->arch.vgic.priv[intid] : NULL;
	return intid < VGIC_NR_IRQS ? &vm->arch.vgic.spi[intid - VGIC_NR_PRIVATE] : NULL;
}

static bool *field_of(struct virq *q, enum vgic_field f)
{
	switch (f) {
	case VF_GROUP: return &q->group1;
	case VF_ENABLE: return &q->enabled;
	case VF_PENDING: return &q->pending;
	case VF_ACTIVE: return &q->active;
	}
	return NULL;
}

u32 vgic_bits_read(struct vm *vm, struct vcpu *v, u32 first, enum vgic_field f)
{
	u32 val = 0;

	spin_lock(&vm->arch.vgic.lock);
	for (u32 i = 0; i < 32; i++) {
		struct virq *q = reg_virq(vm, v, first + i);
		bool bit = q && *field_of(q, f);

		if (q && f == VF_PENDING && !q->edge && q->level)
			bit = true;
		if (bit)
			val |= 1u << i;
	}
	spin_unlock(&vm->arch.vgic.lock);
	return val;
}

void vgic_bits_write(struct vm *vm, struct vcpu *v, u32 first, enum vgic_field f, bool set,
		     u32 mask)
{
	struct vcpu *notify[CFG_MAX_VCPUS] = { 0 };

	spin_lock(&vm->arch.vgic.lock);
	for (u32 i = 0; i < 32; i++) {
		struct virq *q = reg_virq(vm, v, first + i);

		if (!q || !(mask & (1u << i)))
			continue;
		if (f == VF_GROUP) {
			q->group1 = set;
			continue;
		}
		*field_of(q, f) = set;
		if (q->hw)
			vgic_hw_changed(first + i, f, set);
		struct vcpu *t = first + i < VGIC_NR_PRIVATE ? v : vm_vcpu(vm, q->target);
		if (t) {
			touch(vm, t, first + i);
			notify[t->id] = t;
		}
	}
	spin_unlock(&vm->arch.vgic.lock);
	for (u32 i = 0; i < CFG_MAX_VCPUS; i++)
		if (notify[i])
			vgic_notify(notify[i]);
}

u32 vgic_prio_read(struct vm *vm, struct vcpu *v, u32 first, u32 width)
{
	u32 val = 0;

	for (u32 i = 0; i < width; i++) {
		struct virq *q = reg_virq(vm, v, first + i);

		if (q)
			val |= (u32)q->priority << (8 * i);
	}
	return val;
}

void vgic_prio_write(struct vm *vm, struct vcpu *v, u32 first, u32 width, u32 val)
{
	spin_lock(&vm->arch.vgic.lock);
	for (u32 i = 0; i < width; i++) {
		struct virq *q = reg_virq(vm, v, first + i);

		if (q)
			q->priority = (u8)(val >> (8 * i));
	}
	spin_unlock(&vm->arch.vgic.lock);
}

/* ICFGR: two bits per interrupt, the upper one set for edge-triggered. SGIs are always edge. */
u32 vgic_cfg_read(struct vm *vm, struct vcpu *v, u32 first)
{
	u32 val = 0;

	for (u32 i = 0; i < 16; i++) {
		struct virq *q = reg_virq(vm, v, first + i);

		if (q && q->edge)
			val |= 2u << (2 * i);
	}
	return val;
}

void vgic_cfg_write(struct vm *vm, struct vcpu *v, u32 first, u32 val)
{
	spin_lock(&vm->arch.vgic.lock);
	for (u32 i = 0; i < 16; i++) {
		struct virq *q = reg_virq(vm, v, first + i);

		if (q && first + i >= 16) {
			q->edge = (val >> (2 * i + 1)) & 1;
			touch(vm, v, first + i);
		}
	}
	spin_unlock(&vm->arch.vgic.lock);
}

void vgic_bits_reg_write(struct vm *vm, struct vcpu *v, u32 first, enum vgic_field f, bool set,
			 u32 val)
{
	if (f == VF_GROUP) { /* IGROUPR is a plain register: 1 = Group 1, 0 = Group 0 */
		vgic_bits_write(vm, v, first, f, true, val);
		vgic_bits_write(vm, v, first, f, false, ~val);
	} else { /* set-enable/clear-enable style: only the 1 bits act */
		vgic_bits_write(vm, v, first, f, set, val);
	}
}

bool vgic_reg64_read(u64 reg, u64 off, u32 width, u64 *value)
{
	if (width == 8 && off == 0)
		*value = reg;
	else if (width == 4 && (off == 0 || off == 4))
		*value = off ? reg >> 32 : (u32)reg;
	else
		return false;
	return true;
}

u32 vgic_id_reg(u64 off)
{
	/* PIDR4..7, PIDR0..3, CIDR0..3; PIDR2 says GICv3 (ArchRev 3). */
	static const u8 ids[12] = { 0x44, 0, 0, 0, 0x92, 0xB4, 0x3B, 0, 0x0D, 0xF0, 0x05, 0xB1 };
	u64 i = (off - 0xFFD0) / 4;

	return (off & 3) || i >= ARRAY_SIZE(ids) ? 0 : ids[i];
}
