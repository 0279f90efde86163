/* System register access and the EL2 register bit definitions Bulkhead uses. */
#ifndef ARCH_SYSREG_H
#define ARCH_SYSREG_H

#include <bulkhead/types.h>

#define read_sysreg(r)                                                         \
	({                                                                     \
		u64 v_;                                                        \
		__asm__ volatile("mrs %0, " #r : "=r"(v_));                    \
		v_;                                                            \
	})
#define write_sysreg(r, v)                                                     \
	do {                                                                   \
		u64 w_ = (u64)(v);                                             \
		__asm__ volatile("msr " #r ", %0" : : "r"(w_));                \
	} while (0)

#define isb() __asm__ volatile("isb" ::: "memory")
#define dsb(opt) __asm__ volatile("dsb " #opt ::: "memory")
#define wfi() __asm__ volatile("wfi" ::: "memory")

/* HCR_EL2 */
#define HCR_VM BIT(0)
#define HCR_SWIO BIT(1)
#define HCR_FMO BIT(3)
#define HCR_IMO BIT(4)
#define HCR_AMO BIT(5)
#define HCR_FB BIT(9)
#define HCR_BSU_IS (1ULL << 10)
#define HCR_TWI BIT(13)
#define HCR_TWE BIT(14)
#define HCR_TID3 BIT(18)
#define HCR_TSC BIT(19)
#define HCR_TIDCP BIT(20)
#define HCR_TACR BIT(21)
#define HCR_TSW BIT(22)
#define HCR_RW BIT(31)
#define HCR_TLOR BIT(35)

/* CPTR_EL2 (E2H = 0) */
#define CPTR_RES1 0x22FFULL
#define CPTR_TZ BIT(8)
#define CPTR_TFP BIT(10)
#define CPTR_TSM BIT(12)
#define CPTR_TTA BIT(20)
#define CPTR_TAM BIT(30)

/* MDCR_EL2 */
#define MDCR_TPMCR BIT(5)
#define MDCR_TPM BIT(6)
#define MDCR_TDA BIT(9)
#define MDCR_TDOSA BIT(10)
#define MDCR_TDRA BIT(11)

/* CNTHCTL_EL2 (E2H = 0) */
#define CNTHCTL_EL1PCTEN BIT(0)
#define CNTHCTL_EL1PCEN BIT(1)

/* SCTLR_EL2 */
#define SCTLR_EL2_RES1 0x30C50830ULL
#define SCTLR_M BIT(0)
#define SCTLR_C BIT(2)
#define SCTLR_SA BIT(3)
#define SCTLR_I BIT(12)
#define SCTLR_WXN BIT(19)

/* SCTLR_EL1 value at reset as Linux expects it: MMU and caches off, RES1 bits set. */
#define SCTLR_EL1_RESET 0x30D00800ULL

/* PSTATE for a vCPU entering EL1h with D, A, I, F masked. */
#define PSTATE_EL1H_MASKED 0x3C5ULL
#define PSTATE_MODE_MASK 0xFULL
#define PSTATE_EL0T 0x0ULL

/* ESR_ELx */
#define ESR_EC_SHIFT 26
#define ESR_EC(esr) (((esr) >> ESR_EC_SHIFT) & 0x3F)
#define ESR_IL BIT(25)
#define ESR_ISS(esr) ((esr)&0x1FFFFFF)

#define EC_UNKNOWN 0x00
#define EC_WFX 0x01
#define EC_SVE 0x19
#define EC_PAC 0x09
#define EC_HVC64 0x16
#define EC_SMC64 0x17
#define EC_SYSREG 0x18
#define EC_SME 0x1D
#define EC_IABT_LOW 0x20
#define EC_IABT_CUR 0x21
#define EC_DABT_LOW 0x24
#define EC_DABT_CUR 0x25

#endif
