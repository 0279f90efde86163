/* scrub: checks that the RAM it was given holds nothing of an earlier VM, then leaves a mark of
 * its own for the next one to find. Its VM must have 128 MiB of RAM at 0x40000000 (see
 * linux/mgmt/scrub.dts). From 0x40200000 (above its image and stacks) to the device tree at the
 * top 64 KiB it counts the 64-bit words that are not zero and prints
 *     scrub: N of M words not zero (first at 0x...)
 * (the hypervisor hands a VM zeroed RAM, and scrubs a destroyed VM's: N must be 0), then fills
 * the same range with a pattern, prints "scrub: filled", and ticks. */
#include "guest.h"

#define FROM 0x40200000UL
#define TO (0x40000000UL + (128UL << 20) - (64UL << 10))

int main(void)
{
	volatile uint64_t *p = (volatile uint64_t *)FROM;
	uint64_t words = (TO - FROM) / 8, bad = 0, first = 0;

	for (uint64_t i = 0; i < words; i++)
		if (p[i] && !bad++)
			first = FROM + i * 8;
	printf("scrub: %lu of %lu words not zero (first at 0x%lx)\n", bad, words, first);
	for (uint64_t i = 0; i < words; i++)
		p[i] = 0x5C5C5C5C00000000UL | i;
	dsb();
	printf("scrub: filled\n");
	tick_forever();
}
