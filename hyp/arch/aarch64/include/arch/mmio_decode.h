/* Decoding a stage-2 data abort syndrome into an arch-neutral MMIO access. */
#ifndef ARCH_MMIO_DECODE_H
#define ARCH_MMIO_DECODE_H

#include <bulkhead/mmio.h>

/* The faulting IPA from HPFAR_EL2 (page) and FAR_EL2 (offset in the page). */
static inline gpa_t dabt_ipa(u64 hpfar, u64 far)
{
	return ((hpfar & 0x00000FFFFFFFFFF0ULL) << 8) | (far & 0xFFF);
}

/* Fills a from ESR_EL2 and the IPA. Returns false if the access cannot be emulated: no valid
 * instruction syndrome (ISV = 0, e.g. load/store pair or writeback), a fault on the guest's
 * own page-table walk (S1PTW), or FAR not valid (FnV). */
bool mmio_decode(u64 esr, gpa_t ipa, struct mmio_access *a);

#endif
