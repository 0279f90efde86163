/* The other VM of the exit-cost benchmark's VM-switch measurement (bench/README.md): shares a
 * physical CPU with the bench guest and gives the CPU straight back whenever it gets it.
 *
 * It arms its virtual timer with a deadline already passed and never enables that interrupt in
 * its GIC, then loops on WFI: under Bulkhead each WFI exits, the vCPU "waits" until a deadline
 * already reached (so it stays runnable) and the scheduler rotates to the next vCPU of the
 * physical CPU, the bench guest. (QEMU does not trap WFE to EL2, so a WFE loop would not exit.)
 * Prints `benchpeer: up` once. Not useful directly on QEMU: the first WFI sleeps for good. */
#include "guest.h"

__attribute__((noreturn)) void peer_loop(void); /* loop.S */

int main(void)
{
	printf("benchpeer: up\n");
	__asm__ volatile("msr cntv_cval_el0, %0; msr cntv_ctl_el0, %1; isb" ::"r"(read_cntvct()),
			 "r"(1ull)
			 : "memory");
	peer_loop();
}
