/* ctxcheck: do a vCPU's registers survive being switched out? Each vCPU fills x19..x28, v8..v15
 * (all 128 bits) and FPCR (rounding mode, FZ, DN, AHP) with values derived from a seed of its own
 * (its virtual counter at start and its vCPU index), then, for many iterations, makes an HVC
 * (PSCI_VERSION), does busy work in the other registers and checks that those registers still
 * hold its values (check.S). Meant to share one physical CPU with other vCPUs, of the same or
 * another VM, so the hypervisor switches them out in the middle of the loop.
 *
 * vCPU 0 prints "ctx: cpu0 mpidr 0x..." and starts vCPU 1 with CPU_ON ("ctx: cpu_on(0x1) = R";
 * R is -2 in a VM with one vCPU, which then runs vCPU 0 alone). Every vCPU prints
 * "ctx: cpuN seed 0x... fpcr 0x...", then after each round of ITERATIONS iterations (new values
 * each round) "ctx: cpuN ok K switches S": K rounds passed, S iterations so far found that more
 * than 5 ms had passed since the previous one (the vCPU was not running). A mismatch prints
 * "ctx: cpuN CORRUPT reg R expected 0x... got 0x... (round K)" and the next round starts. */
#include "guest.h"

#define ITERATIONS 5000
#define GAP_MS 5

/* Read and written by check.S (offsets fixed there). */
struct ctx_state {
	uint64_t x[10];	 /* x19..x28 */
	uint64_t v[16];	 /* v8..v15: low half, high half */
	uint64_t fpcr;
	uint64_t iterations;
	uint64_t gap;	 /* counter ticks */
	uint64_t switches;
	uint64_t bad_reg;
	uint64_t bad_got;
	uint64_t sp;
};

_Static_assert(__builtin_offsetof(struct ctx_state, fpcr) == 208, "check.S S_FPCR");
_Static_assert(__builtin_offsetof(struct ctx_state, sp) == 256, "check.S S_SP");

int ctx_run(struct ctx_state *s);

#define CTX_V 10
#define CTX_FPCR 26
#define CTX_SP 27
#define CTX_HVC 28

static struct ctx_state states[NR_CPUS];

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* FPCR: RMode (23:22) changes every round; FZ (24), DN (25), AHP (26) from the seed. */
static uint64_t fpcr_for(uint64_t seed, unsigned me, unsigned long round)
{
	return ((seed + me + round) & 3) << 22 | ((seed >> 8) & 7) << 24;
}

static void fill(struct ctx_state *s, uint64_t seed, unsigned me, unsigned long round)
{
	uint64_t h = splitmix64(seed ^ ((uint64_t)round << 32));

	for (unsigned i = 0; i < 10; i++)
		s->x[i] = h = splitmix64(h + i);
	for (unsigned i = 0; i < 16; i++)
		s->v[i] = h = splitmix64(h + 100 + i);
	s->fpcr = fpcr_for(seed, me, round);
}

static void reg_name(char *buf, size_t len, uint64_t reg)
{
	if (reg < CTX_V)
		snprintf(buf, len, "x%lu", 19 + reg);
	else if (reg < CTX_FPCR)
		snprintf(buf, len, "v%lu.d[%lu]", 8 + (reg - CTX_V) / 2, (reg - CTX_V) % 2);
	else if (reg == CTX_FPCR)
		snprintf(buf, len, "fpcr");
	else if (reg == CTX_SP)
		snprintf(buf, len, "sp");
	else
		snprintf(buf, len, "x0-after-hvc");
}

static uint64_t expected(const struct ctx_state *s, uint64_t reg)
{
	if (reg < CTX_V)
		return s->x[reg];
	if (reg < CTX_FPCR)
		return s->v[reg - CTX_V];
	if (reg == CTX_FPCR)
		return s->fpcr;
	if (reg == CTX_SP)
		return s->sp;
	return 0x10001;
}

static void run(uint64_t unused)
{
	unsigned me = cpu_index();
	struct ctx_state *s = &states[me];
	uint64_t seed = splitmix64(read_cntvct() ^ ((uint64_t)me << 56) ^ 0x5eedc0de);
	char name[16];

	(void)unused;
	/* FP/SIMD on at EL1 and EL0 (CPACR_EL1.FPEN = 0b11): off after reset */
	__asm__ volatile("msr cpacr_el1, %0; isb" : : "r"(3ul << 20));
	s->iterations = ITERATIONS;
	s->gap = (read_cntfrq() & 0xffffffffu) / 1000 * GAP_MS;
	if (!s->gap)
		s->gap = 62500 * GAP_MS;
	printf("ctx: cpu%u seed 0x%016lx fpcr 0x%lx\n", me, seed, fpcr_for(seed, me, 1));
	for (unsigned long round = 1;; round++) {
		fill(s, seed, me, round);
		if (ctx_run(s) == 0) {
			printf("ctx: cpu%u ok %lu switches %lu\n", me, round, s->switches);
			continue;
		}
		reg_name(name, sizeof(name), s->bad_reg);
		printf("ctx: cpu%u CORRUPT reg %s expected 0x%016lx got 0x%016lx (round %lu)\n", me,
		       name, expected(s, s->bad_reg), s->bad_got, round);
	}
}

int main(void)
{
	printf("ctx: cpu0 mpidr 0x%lx\n", read_mpidr());
	printf("ctx: cpu_on(0x1) = %ld\n", cpu_start(1, run, 0));
	run(0);
	return 0;
}
