/* Data abort syndrome decoding (pure: the host unit tests run it). */
#include <arch/mmio_decode.h>
#include <arch/sysreg.h>

#define ISS_ISV BIT(24)
#define ISS_SAS_SHIFT 22
#define ISS_SSE BIT(21)
#define ISS_SRT_SHIFT 16
#define ISS_SF BIT(15)
#define ISS_FNV BIT(10)
#define ISS_S1PTW BIT(7)
#define ISS_WNR BIT(6)

bool mmio_decode(u64 esr, gpa_t ipa, struct mmio_access *a)
{
	u64 ec = ESR_EC(esr);

	if (ec != EC_DABT_LOW && ec != EC_DABT_CUR)
		return false;
	if (!(esr & ISS_ISV) || (esr & ISS_S1PTW) || (esr & ISS_FNV))
		return false;
	a->addr = ipa;
	a->width = (u8)(1u << ((esr >> ISS_SAS_SHIFT) & 3));
	a->write = (esr & ISS_WNR) != 0;
	a->reg = (u8)((esr >> ISS_SRT_SHIFT) & 0x1F);
	a->sign_extend = (esr & ISS_SSE) != 0;
	a->reg64 = (esr & ISS_SF) != 0;
	a->value = 0;
	return true;
}
