/* The virtual GICv3: per-interrupt state kept by the hypervisor, list registers as the
 * hardware view of the interrupts a loaded vCPU is handling, and the distributor and
 * redistributor register models. */
#ifndef ARCH_VGIC_H
#define ARCH_VGIC_H

#include <bulkhead/mmio.h>
#include <bulkhead/spinlock.h>
#include <bulkhead/types.h>

#define VGIC_NR_PRIVATE 32
#define VGIC_NR_SPIS 64 /* INTIDs 32..95 */
#define VGIC_NR_IRQS (VGIC_NR_PRIVATE + VGIC_NR_SPIS)
#define VGIC_MAX_LRS 16
#define VGIC_GICD_BASE 0x08000000ULL
#define VGIC_GICD_SIZE 0x10000ULL
#define VGIC_GICR_BASE 0x080A0000ULL
#define VGIC_GICR_STRIDE 0x20000ULL

#define VIRQ_MAINT 25 /* the GIC maintenance interrupt (PPI 9) */
#define VIRQ_VTIMER 27 /* the EL1 virtual timer (PPI 11) */
#define VIRQ_UART 33 /* the emulated PL011 (SPI 1) */

struct virq {
	u8 priority;
	u8 target; /* SPI: vCPU it is routed to */
	u8 lr;     /* list register index + 1 while in one, else 0 */
	bool enabled, pending, active, level, edge, group1;
	bool hw;   /* a passed-through physical SPI (same INTID): delivered in a hardware-linked
		    * list register, the guest's completion deactivates the physical one */
};

/* Per vCPU: its private interrupts (SGIs, PPIs) and list register bookkeeping. */
struct vgic_cpu {
	struct virq priv[VGIC_NR_PRIVATE];
	u32 cand;                    /* private INTIDs that may need an LR (a superset) */
	u16 lr_used;                 /* LRs holding one of our interrupts */
	u16 lr_intid[VGIC_MAX_LRS];
	bool dirty;                  /* state changed: resynchronize LRs before entry */
	bool vtimer_masked;          /* physical vtimer PPI masked while its virq is in flight */
	bool asleep;                 /* GICR_WAKER.ProcessorSleep */
	u64 vmcr, ap0r0, ap1r0, hcr;
};

/* Per VM: the distributor and the shared interrupts. */
struct vgic_dist {
	spinlock_t lock; /* all virtual interrupt state of the VM */
	u32 ctlr;
	u64 spi_cand; /* SPIs that may need an LR on their target (a superset) */
	struct virq spi[VGIC_NR_SPIS];
};

struct vm;
struct vcpu;

extern const struct mmio_ops vgic_dist_ops;
extern const struct mmio_ops vgic_redist_ops;

void vgic_init_vm(struct vm *vm);
void vgic_init_vcpu(struct vcpu *v);
/* The interrupt state behind an INTID as seen by vCPU v (private ones are v's), or NULL. */
struct virq *vgic_virq(struct vcpu *v, u32 intid);
/* The vCPU an interrupt is delivered to. */
struct vcpu *vgic_target(struct vm *vm, struct vcpu *self, u32 intid);
/* Every interrupt of the VM may have become deliverable (a distributor-wide change). */
void vgic_touch_all(struct vm *vm);
/* Marks a vCPU's interrupt state changed and makes sure it notices (kick or wake). */
void vgic_notify(struct vcpu *t);
/* Makes intid pending on its target (edge), or sets the line level (level-sensitive). */
void vgic_raise(struct vm *vm, struct vcpu *self, u32 intid);
void vgic_set_level(struct vm *vm, struct vcpu *self, u32 intid, bool level);
/* Guest write of ICC_SGI1R_EL1 (and its group 0 / alias forms). */
void vgic_send_sgi(struct vcpu *v, u64 val);
/* Before a GIC register access by the loaded vCPU: take its list registers back into the
 * state, so pending and active bits read and written are current. */
void vgic_mmio_begin(struct vm *vm);
/* List register synchronization for the loaded vCPU v: before entry if dirty. */
void vgic_sync(struct vcpu *v);
void vgic_load(struct vcpu *v);
void vgic_save(struct vcpu *v);
bool vgic_has_pending(struct vcpu *v);
/* The physical virtual-timer interrupt fired while v was loaded. */
void vgic_vtimer_fired(struct vcpu *v);
/* Register helpers for the distributor and redistributor models: 32 one-bit fields from
 * INTID first (v selects whose private interrupts), priorities, and configuration. */
enum vgic_field { VF_GROUP, VF_ENABLE, VF_PENDING, VF_ACTIVE };
u32 vgic_bits_read(struct vm *vm, struct vcpu *v, u32 first, enum vgic_field f);
void vgic_bits_write(struct vm *vm, struct vcpu *v, u32 first, enum vgic_field f, bool set,
		     u32 mask);
/* A guest write to such a register: set/clear semantics, or plain for IGROUPR. */
void vgic_bits_reg_write(struct vm *vm, struct vcpu *v, u32 first, enum vgic_field f, bool set,
			 u32 val);
u32 vgic_prio_read(struct vm *vm, struct vcpu *v, u32 first, u32 width);
void vgic_prio_write(struct vm *vm, struct vcpu *v, u32 first, u32 width, u32 val);
u32 vgic_cfg_read(struct vm *vm, struct vcpu *v, u32 first);
void vgic_cfg_write(struct vm *vm, struct vcpu *v, u32 first, u32 val);
/* A 64-bit register read whole (width 8 at off 0) or by 32-bit halves (off 0 or 4). */
bool vgic_reg64_read(u64 reg, u64 off, u32 width, u64 *value);
/* The PrimeCell/CoreSight id registers at 0xFFD0..0xFFFC of both frames. */
u32 vgic_id_reg(u64 offset);

/* Passed-through SPIs (vgic_hw.c). A physical SPI fired: if a VM owns it, the priority is
 * dropped, it stays active and its virtual copy is made pending; returns false otherwise. */
bool vgic_hw_forward(u32 intid);
/* The guest enabled/disabled or deactivated (through GICD registers) a passed-through SPI. */
void vgic_hw_changed(u32 intid, enum vgic_field f, bool set);

/* Number of list registers (from ICH_VTR_EL2). */
void vgic_probe(void);

#endif
