/* The shared-memory channel as the ivc test guests use it (docs/guest-interface.md): the
 * region at CH_BASE (CH_SIZE bytes, as in their test configurations), the doorbell page right
 * after it. MMIO with plain 32-bit LDR/STR (gic_read32/gic_write32). */
#ifndef IVC_H
#define IVC_H

#include "gic.h"

#define CH_BASE 0x20000000UL
#define CH_SIZE 0x10000UL
#define CH_DB (CH_BASE + CH_SIZE)
#define DB_DOORBELL 0x00
#define DB_MAGIC 0x04
#define DB_ID 0x08
#define DB_ROLE 0x0C
#define DB_SIZE 0x10
#define DB_INTID 0x14
#define DB_MAGIC_VALUE 0x56494842u /* "BHIV" */

static inline uint32_t db_read(unsigned reg)
{
	return gic_read32(CH_DB + reg);
}

static inline void db_ring(void)
{
	gic_write32(CH_DB + DB_DOORBELL, 1);
}

#endif
