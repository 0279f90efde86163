/* counter: two vCPUs (vCPU0 starts vCPU1 with CPU_ON) each print "cpuN progress K" every ~20 ms
 * with their own K counting from 1, so a test can see that both make progress, even when they
 * share one physical CPU. */
#include "guest.h"

static void progress(uint64_t unused)
{
	unsigned me = cpu_index();

	(void)unused;
	for (unsigned long k = 1;; k++) {
		delay_ms(20);
		printf("cpu%u progress %lu\n", me, k);
	}
}

int main(void)
{
	printf("counter: cpu0 mpidr 0x%lx\n", read_mpidr());
	int64_t r = cpu_start(1, progress, 0);
	if (r != PSCI_SUCCESS)
		printf("counter: FAIL cpu_on(0x1) = %ld\n", r);
	progress(0);
	return 0;
}
