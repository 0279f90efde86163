/* Bulkhead test guests: a minimal GICv3 driver (Arm IHI 0069), written the way Linux's
 * irq-gic-v3.c sets the GIC up, for guests that run on QEMU virt's GICv3 or Bulkhead's virtual
 * one (distributor at 0x08000000, redistributors from 0x080A0000, 0x20000 per CPU, system
 * register CPU interface). Only Group 1 (non-secure) interrupts are used.
 *
 * MMIO widths: 32-bit for all GICD_/GICR_ registers except GICR_TYPER (64-bit read) and
 * GICR_IPRIORITYR, which gic_set_priority()/gic_get_priority() access one byte at a time (the
 * registers are byte-accessible; Linux does the same). */
#ifndef GIC_H
#define GIC_H

#include <stdint.h>

#define GICD_BASE 0x08000000UL
#define GICR_BASE 0x080A0000UL
#define GICR_MAX_FRAMES 8 /* how many redistributor frames gicr_walk() looks at, at most */

/* Distributor. */
#define GICD_CTLR 0x0000
#define GICD_TYPER 0x0004
#define GICD_IIDR 0x0008
#define GICD_IGROUPR 0x0080 /* + 4 * n */
#define GICD_ICENABLER 0x0180
#define GICD_ICACTIVER 0x0380
#define GICD_IPRIORITYR 0x0400
#define GICD_PIDR2 0xFFE8

#define GICD_CTLR_ENABLE_G0 (1u << 0)  /* DS=1; with DS=0 (non-secure view) EnableGrp1 */
#define GICD_CTLR_ENABLE_G1 (1u << 1)  /* DS=1: EnableGrp1; DS=0 (non-secure): EnableGrp1A */
#define GICD_CTLR_ARE (1u << 4)	       /* DS=1: ARE; DS=0 (non-secure): ARE_NS */
#define GICD_CTLR_DS (1u << 6)
#define GICD_CTLR_RWP (1u << 31)

#define GICD_TYPER_ITLINES(t) ((t) & 0x1f)
#define GICD_TYPER_IDBITS(t) (((t) >> 19) & 0x1f)
#define GIC_PIDR2_ARCHREV(p) (((p) >> 4) & 0xf)

/* Redistributor: RD_base frame, then SGI_base = RD_base + 0x10000. */
#define GICR_CTLR 0x0000
#define GICR_IIDR 0x0004
#define GICR_TYPER 0x0008 /* 64-bit */
#define GICR_WAKER 0x0014
#define GICR_PIDR2 0xFFE8
#define GICR_SGI_BASE 0x10000
#define GICR_IGROUPR0 (GICR_SGI_BASE + 0x0080)
#define GICR_ISENABLER0 (GICR_SGI_BASE + 0x0100)
#define GICR_ICENABLER0 (GICR_SGI_BASE + 0x0180)
#define GICR_ISPENDR0 (GICR_SGI_BASE + 0x0200)
#define GICR_ICPENDR0 (GICR_SGI_BASE + 0x0280)
#define GICR_ISACTIVER0 (GICR_SGI_BASE + 0x0300)
#define GICR_ICACTIVER0 (GICR_SGI_BASE + 0x0380)
#define GICR_IPRIORITYR (GICR_SGI_BASE + 0x0400) /* 32 bytes, one per SGI/PPI */
#define GICR_ICFGR0 (GICR_SGI_BASE + 0x0C00)
#define GICR_ICFGR1 (GICR_SGI_BASE + 0x0C04)

#define GICR_CTLR_RWP (1u << 3)
#define GICR_TYPER_VLPIS (1ull << 1)
#define GICR_TYPER_LAST (1ull << 4)
#define GICR_TYPER_AFF(t) ((uint32_t)((t) >> 32)) /* Aff3.Aff2.Aff1.Aff0 */
#define GICR_WAKER_PROCESSOR_SLEEP (1u << 1)
#define GICR_WAKER_CHILDREN_ASLEEP (1u << 2)

#define GIC_DEFAULT_PRIO 0xa0 /* Linux's GICD_INT_DEF_PRI */
#define GIC_INTID_SPURIOUS 1023

/* MPIDR_EL1 -> the 32-bit affinity GICR_TYPER reports (Aff3 in bits 31:24). */
static inline uint32_t gic_mpidr_to_aff(uint64_t mpidr)
{
	return (uint32_t)(mpidr & 0xffffff) | (uint32_t)((mpidr >> 32) & 0xff) << 24;
}

/* MMIO accessors: one plain LDR/STR with a base register and no writeback (like Linux's
 * readl/writel), so a trapped access always has a valid syndrome (ESR_EL2.ISV = 1) that a
 * hypervisor can emulate; the compiler would otherwise use post-indexed or pair forms. */
static inline uint32_t gic_read32(uint64_t addr)
{
	uint32_t v;

	__asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline void gic_write32(uint64_t addr, uint32_t v)
{
	__asm__ volatile("str %w0, [%1]" ::"rZ"(v), "r"(addr) : "memory");
}

static inline uint64_t gic_read64(uint64_t addr)
{
	uint64_t v;

	__asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline uint8_t gic_read8(uint64_t addr)
{
	uint32_t v;

	__asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(addr) : "memory");
	return (uint8_t)v;
}

static inline void gic_write8(uint64_t addr, uint8_t v)
{
	__asm__ volatile("strb %w0, [%1]" ::"rZ"(v), "r"(addr) : "memory");
}

/* CPU interface system registers (by encoding, so any assembler takes them). */
#define SYS_ICC_PMR_EL1 "S3_0_C4_C6_0"
#define SYS_ICC_RPR_EL1 "S3_0_C12_C11_3"
#define SYS_ICC_SGI1R_EL1 "S3_0_C12_C11_5"
#define SYS_ICC_IAR1_EL1 "S3_0_C12_C12_0"
#define SYS_ICC_EOIR1_EL1 "S3_0_C12_C12_1"
#define SYS_ICC_HPPIR1_EL1 "S3_0_C12_C12_2"
#define SYS_ICC_BPR1_EL1 "S3_0_C12_C12_3"
#define SYS_ICC_CTLR_EL1 "S3_0_C12_C12_4"
#define SYS_ICC_SRE_EL1 "S3_0_C12_C12_5"
#define SYS_ICC_IGRPEN1_EL1 "S3_0_C12_C12_7"

#define gic_sysreg_read(reg)                                                                       \
	({                                                                                         \
		uint64_t __v;                                                                      \
		__asm__ volatile("mrs %0, " reg : "=r"(__v)::"memory");                            \
		__v;                                                                               \
	})
#define gic_sysreg_write(reg, val)                                                                 \
	__asm__ volatile("msr " reg ", %0" ::"r"((uint64_t)(val)) : "memory")
#define isb() __asm__ volatile("isb" ::: "memory")

#define ICC_SRE_SRE (1u << 0)
#define ICC_CTLR_EOIMODE (1u << 1)

static inline uint32_t gic_ack(void) /* ICC_IAR1_EL1: INTID in bits 23:0 */
{
	return (uint32_t)(gic_sysreg_read(SYS_ICC_IAR1_EL1) & 0xffffff);
}

static inline void gic_eoi(uint32_t intid) /* priority drop + deactivate (EOImode 0) */
{
	gic_sysreg_write(SYS_ICC_EOIR1_EL1, intid);
	isb();
}

static inline void gic_set_pmr(uint32_t pmr)
{
	gic_sysreg_write(SYS_ICC_PMR_EL1, pmr);
	isb();
}

static inline void irq_mask(void)
{
	__asm__ volatile("msr daifset, #2" ::: "memory");
}

static inline void irq_unmask(void)
{
	__asm__ volatile("msr daifclr, #2" ::: "memory");
}

static inline void wfi(void)
{
	__asm__ volatile("dsb sy; wfi" ::: "memory");
}

/* Distributor: disables it, sets every SPI to Group 1, disabled, inactive, default priority,
 * then enables affinity routing and Group 1 (like Linux's gic_dist_init). Returns GICD_CTLR as
 * read back afterwards (or with RWP still set if that never cleared). */
uint32_t gicd_init(void);
int gicd_wait_rwp(void); /* 0, or -1 if GICD_CTLR.RWP stayed set for 1 s */

/* Redistributors. gicr_walk() calls fn(index, rd_base, typer, arg) for each frame from
 * GICR_BASE until GICR_TYPER.Last (at most GICR_MAX_FRAMES, stops early at a frame whose PIDR2
 * ArchRev is not 3 or 4); returns the number of frames visited. */
unsigned gicr_walk(void (*fn)(unsigned idx, uint64_t rd, uint64_t typer, void *arg), void *arg);
uint64_t gicr_find(uint64_t mpidr); /* RD_base of the frame whose affinity matches, or 0 */
int gicr_wake(uint64_t rd);	    /* 0, or -1 if ChildrenAsleep stayed set for 1 s */
int gicr_wait_rwp(uint64_t rd);	    /* 0, or -1 if GICR_CTLR.RWP stayed set for 1 s */
/* SGIs and PPIs of this redistributor: deactivated, disabled, Group 1, default priority. */
void gicr_init_private(uint64_t rd);

/* One SGI/PPI of a redistributor. */
void gic_set_priority(uint64_t rd, unsigned intid, uint8_t prio); /* byte write */
uint8_t gic_get_priority(uint64_t rd, unsigned intid);		  /* byte read */
void gic_enable(uint64_t rd, unsigned intid);
void gic_disable(uint64_t rd, unsigned intid); /* waits for RWP */

/* CPU interface: ICC_SRE_EL1.SRE=1, PMR 0xff, BPR1 0, EOImode 0, IGRPEN1 1. Returns
 * ICC_SRE_EL1 as read back. */
uint64_t gic_cpu_init(void);

/* ICC_SGI1R_EL1: SGI intid (0..15) to the one CPU with affinity `mpidr` (target list form). */
void gic_send_sgi(unsigned intid, uint64_t mpidr);

#endif
