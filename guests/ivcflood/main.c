/* ivcflood: the hostile end of a shared-memory channel (configs: ivc_flood.dts). Role 0 (the
 * doorbell page's ROLE register) rings its doorbell RINGS times in a tight loop, printing
 * "ivcflood: ringing" before and "ivcflood: done 1000000 rings" after, then parks. Role 1 (the
 * peer being rung) prints "ivcflood: peer waiting" and sleeps in WFI for good (it never enables
 * the doorbell interrupt; each ring only ends one WFI). */
#include "guest.h"
#include "../ivc/ivc.h"

#define RINGS 1000000u

int main(void)
{
	if (db_read(DB_MAGIC) != DB_MAGIC_VALUE) {
		printf("ivcflood: FAIL no channel at 0x%lx\n", CH_BASE);
		halt();
	}
	if (db_read(DB_ROLE) == 0) {
		printf("ivcflood: ringing\n");
		for (uint32_t i = 0; i < RINGS; i++)
			db_ring();
		printf("ivcflood: done %u rings\n", RINGS);
		halt();
	}
	printf("ivcflood: peer waiting\n");
	for (;;)
		__asm__ volatile("wfi" ::: "memory");
}
