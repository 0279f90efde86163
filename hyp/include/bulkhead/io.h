/* Device register access for the hypervisor's own drivers. */
#ifndef BULKHEAD_IO_H
#define BULKHEAD_IO_H

#include <bulkhead/types.h>

static inline u32 io_read32(paddr_t a)
{
	return *(volatile u32 *)(uintptr_t)a;
}
static inline void io_write32(paddr_t a, u32 v)
{
	*(volatile u32 *)(uintptr_t)a = v;
}
static inline u64 io_read64(paddr_t a)
{
	return *(volatile u64 *)(uintptr_t)a;
}
static inline void io_write64(paddr_t a, u64 v)
{
	*(volatile u64 *)(uintptr_t)a = v;
}

#endif
