/* smp: vCPU0 checks PSCI on a 2-vCPU VM: PSCI_VERSION, CPU_ON(1) (vCPU1 reports its MPIDR and
 * the context id it got), AFFINITY_INFO(1) = ON, CPU_ON(1) again = ALREADY_ON, CPU_ON(0x55) =
 * INVALID_PARAMETERS. Both vCPUs then print "smp: cpuN pass" (or "smp: cpuN FAIL <why>"), and
 * vCPU0 the summary "smp: pass" / "smp: FAIL <why>". Afterwards vCPU1 calls CPU_OFF and vCPU0
 * checks that AFFINITY_INFO(1) becomes OFF: "smp: cpu_off pass" / "smp: cpu_off FAIL ...".
 * Output lines:
 *   smp: cpu0 mpidr 0x80000000
 *   smp: psci_version 0x10001 (1.1)
 *   smp: cpu_on(0x1) = 0
 *   smp: cpu1 up mpidr 0x80000001 context 0x5eed0001
 *   smp: affinity_info(0x1) = 0
 *   smp: cpu_on(0x1) again = -4
 *   smp: cpu_on(0x55) = -2
 *   smp: cpu1 pass
 *   smp: cpu0 pass
 *   smp: pass
 *   smp: affinity_info(0x1) after cpu_off = 1
 *   smp: cpu_off pass
 */
#include "guest.h"

#define CONTEXT 0x5eed0001UL
#define WAIT_MS 10000

static volatile uint64_t cpu1_mpidr, cpu1_context;
static volatile uint32_t cpu1_up, cpu0_checked, cpu0_ok, cpu1_done, cpu1_ok;

static void cpu1_main(uint64_t context)
{
	uint64_t mpidr = read_mpidr();

	cpu1_mpidr = mpidr;
	cpu1_context = context;
	printf("smp: cpu1 up mpidr 0x%lx context 0x%lx\n", mpidr, context);
	dmb();
	cpu1_up = 1;
	dsb();
	sev();

	/* stay on until vCPU0 has made its checks (CPU_ON again must see ALREADY_ON) */
	uint64_t deadline = time_ms() + WAIT_MS;
	while (!cpu0_checked && time_ms() < deadline)
		;
	dmb();
	if ((mpidr & 0xff) != 1 || (mpidr & 0xffff00) != 0)
		printf("smp: cpu1 FAIL mpidr 0x%lx (want Aff0 1)\n", mpidr);
	else if (context != CONTEXT)
		printf("smp: cpu1 FAIL context 0x%lx (want 0x%lx)\n", context, CONTEXT);
	else if (!cpu0_checked)
		printf("smp: cpu1 FAIL cpu0 did not finish its checks\n");
	else {
		printf("smp: cpu1 pass\n");
		cpu1_ok = 1;
	}
	dmb();
	cpu1_done = 1;
	dsb();
	/* returning calls CPU_OFF */
}

static int check(int ok, const char *what, int64_t got, char *why, size_t whysize)
{
	if (!ok && !why[0])
		snprintf(why, whysize, "%s = %ld", what, got);
	return ok;
}

int main(void)
{
	char why[96] = "";
	int ok = 1;
	uint64_t mpidr = read_mpidr();

	printf("smp: cpu0 mpidr 0x%lx\n", mpidr);
	ok &= check((mpidr & 0xffffff) == 0, "cpu0 mpidr", (int64_t)mpidr, why, sizeof(why));

	int64_t ver = psci_version();
	printf("smp: psci_version 0x%lx (%ld.%ld)\n", (uint64_t)ver, ver >> 16, ver & 0xffff);
	ok &= check(ver >= 2, "psci_version", ver, why, sizeof(why)); /* CPU_ON etc. need 0.2+ */

	int64_t r = cpu_start(1, cpu1_main, CONTEXT);
	printf("smp: cpu_on(0x1) = %ld\n", r);
	ok &= check(r == PSCI_SUCCESS, "cpu_on(0x1)", r, why, sizeof(why));

	uint64_t deadline = time_ms() + WAIT_MS;
	while (r == PSCI_SUCCESS && !cpu1_up && time_ms() < deadline)
		;
	dmb();
	ok &= check(cpu1_up, "cpu1 up", (int64_t)cpu1_up, why, sizeof(why));

	int64_t aff;
	deadline = time_ms() + WAIT_MS;
	do
		aff = psci_affinity_info(1, 0);
	while (aff != AFF_ON && time_ms() < deadline);
	printf("smp: affinity_info(0x1) = %ld\n", aff);
	ok &= check(aff == AFF_ON, "affinity_info(0x1)", aff, why, sizeof(why));

	r = cpu_start(1, cpu1_main, CONTEXT);
	printf("smp: cpu_on(0x1) again = %ld\n", r);
	ok &= check(r == PSCI_ALREADY_ON, "cpu_on(0x1) again", r, why, sizeof(why));

	r = psci_cpu_on(0x55, 0x40080000UL, 0);
	printf("smp: cpu_on(0x55) = %ld\n", r);
	ok &= check(r == PSCI_INVALID_PARAMETERS, "cpu_on(0x55)", r, why, sizeof(why));

	dmb();
	cpu0_checked = 1;
	dsb();

	deadline = time_ms() + WAIT_MS;
	while (cpu1_up && !cpu1_done && time_ms() < deadline)
		;
	dmb();
	ok &= check(cpu1_done && cpu1_ok, "cpu1 ok", (int64_t)cpu1_ok, why, sizeof(why));
	if (ok)
		printf("smp: cpu0 pass\nsmp: pass\n");
	else
		printf("smp: cpu0 FAIL %s\nsmp: FAIL %s\n", why, why);

	/* vCPU1 calls CPU_OFF after cpu1_done: AFFINITY_INFO(1) must become OFF */
	deadline = time_ms() + WAIT_MS;
	do
		aff = psci_affinity_info(1, 0);
	while (aff != AFF_OFF && time_ms() < deadline);
	printf("smp: affinity_info(0x1) after cpu_off = %ld\n", aff);
	if (aff == AFF_OFF)
		printf("smp: cpu_off pass\n");
	else
		printf("smp: cpu_off FAIL affinity_info(0x1) = %ld\n", aff);
	halt();
}
