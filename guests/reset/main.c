/* reset: counts its boots in RAM at 0x40010000 (below the image, so not reloaded; zero on the
 * first boot) and prints "reset: boot N". Boot 1 calls PSCI SYSTEM_RESET; boot 2 prints
 * "reset: done" and ticks. */
#include "guest.h"

#define BOOT_RECORD 0x40010000UL
#define BOOT_MAGIC 0xB007C0DE5EED1234UL

struct boot_record {
	uint64_t magic;
	uint64_t count;
};

int main(void)
{
	volatile struct boot_record *rec = (volatile struct boot_record *)BOOT_RECORD;

	if (rec->magic != BOOT_MAGIC) {
		rec->count = 0;
		rec->magic = BOOT_MAGIC;
	}
	rec->count = rec->count + 1;
	dsb();
	uint64_t boot = rec->count;

	printf("reset: boot %lu\n", boot);
	if (boot == 1) {
		int64_t r = psci_system_reset();
		printf("reset: FAIL SYSTEM_RESET returned %ld\n", r);
		halt();
	}
	if (boot == 2)
		printf("reset: done\n");
	else
		printf("reset: FAIL unexpected boot %lu\n", boot);
	tick_forever();
}
