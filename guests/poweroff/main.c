/* poweroff: prints "poweroff: bye" and calls PSCI SYSTEM_OFF, which must not return. */
#include "guest.h"

int main(void)
{
	printf("poweroff: bye\n");
	int64_t r = psci_system_off();
	printf("poweroff: FAIL returned %ld\n", r);
	halt();
}
