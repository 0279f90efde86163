/* spin: prints "spin: start", then spins in a tight loop forever without a single exit. */
#include "guest.h"

int main(void)
{
	printf("spin: start\n");
	for (;;)
		__asm__ volatile("");
}
