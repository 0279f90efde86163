/* bhctl stats and top: one VM's counters, and every VM's rates between two samples (like
 * xentop), in plain text so that `top -n N` can feed scripts. */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bhctl.h"

int cmd_stats(struct ctx *c, int argc, char **argv)
{
	const char *arg = one_vm(find_command("stats"), argc, argv, 1);
	struct bhc_vm_stats st;
	struct bhc_net_stats ns;
	struct bhc_blk_stats bs;
	struct bhc_vm_info vm;
	int rc;

	if (!arg)
		return EXIT_USAGE;
	if ((rc = resolve_vm(c, arg, &vm)) || (rc = op_stats(c, vm.id, &st)) ||
	    (rc = op_net_stats(c, vm.id, &ns)) || (rc = op_blk_stats(c, vm.id, &bs)))
		return rc;
	print_stats(stdout, &st);
	print_net_stats(stdout, &ns);
	print_blk_stats(stdout, &bs);
	return EXIT_OK;
}

/* One sample of every VM. */
struct sample {
	struct bhc_vm_stats *st;
	uint32_t n;
	double t; /* seconds, monotonic */
};

static volatile sig_atomic_t top_stop;

static void top_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int take_sample(struct ctx *c, struct sample *s)
{
	struct bhc_vm_info *vms;
	uint32_t n, k = 0;
	int rc = op_list(c, &vms, &n);

	if (rc)
		return rc;
	s->t = mono();
	s->st = calloc(n ? n : 1, sizeof(*s->st));
	if (!s->st) {
		free(vms);
		return EXIT_FAIL;
	}
	for (uint32_t i = 0; i < n; i++) {
		rc = op_stats(c, vms[i].id, &s->st[k]);
		if (rc == EXIT_FAIL)
			continue; /* destroyed between LIST and STATS */
		if (rc) {
			free(vms);
			free(s->st);
			return rc;
		}
		k++;
	}
	s->n = k;
	free(vms);
	return 0;
}

static const struct bhc_vm_stats *find_prev(const struct sample *p, uint32_t id)
{
	for (uint32_t i = 0; p && i < p->n; i++)
		if (p->st[i].info.id == id)
			return &p->st[i];
	return NULL;
}

/* A rate column: "-" when there is no earlier sample or the counter went back (new VM). */
static void rate(char *buf, size_t cap, uint64_t now, const uint64_t *before, double dt)
{
	if (!before || now < *before || dt <= 0)
		snprintf(buf, cap, "-");
	else
		snprintf(buf, cap, "%.0f", (double)(now - *before) / dt);
}

static void print_frame(const struct sample *cur, const struct sample *prev)
{
	double dt = prev ? cur->t - prev->t : 0;

	if (isatty(STDOUT_FILENO))
		fputs("\033[H\033[2J", stdout);
	printf("bhctl top: %u VMs, interval %.1f s\n", cur->n, dt);
	printf("%-3s %-16s %-8s %6s %9s %8s %8s %8s %8s %8s %8s\n", "ID", "NAME", "STATE", "CPU%",
	       "EXITS/s", "HVC/s", "MMIO/s", "SYSREG/s", "WFX/s", "IRQ/s", "INJ/s");
	for (uint32_t i = 0; i < cur->n; i++) {
		const struct bhc_vm_stats *s = &cur->st[i], *p = find_prev(prev, s->info.id);
		uint64_t tot = total_exits(&s->info), ptot = p ? total_exits(&p->info) : 0;
		char cpu[16], r[7][24];

		if (p && s->info.run_ns >= p->info.run_ns && dt > 0)
			snprintf(cpu, sizeof(cpu), "%.1f",
				 (double)(s->info.run_ns - p->info.run_ns) / (dt * 1e7));
		else
			snprintf(cpu, sizeof(cpu), "-");
		rate(r[0], sizeof(r[0]), tot, p ? &ptot : NULL, dt);
		rate(r[1], sizeof(r[1]), s->info.exits[BHC_EXIT_HYPERCALL],
		     p ? &p->info.exits[BHC_EXIT_HYPERCALL] : NULL, dt);
		rate(r[2], sizeof(r[2]), s->info.exits[BHC_EXIT_MMIO],
		     p ? &p->info.exits[BHC_EXIT_MMIO] : NULL, dt);
		rate(r[3], sizeof(r[3]), s->info.exits[BHC_EXIT_SYSREG],
		     p ? &p->info.exits[BHC_EXIT_SYSREG] : NULL, dt);
		rate(r[4], sizeof(r[4]), s->info.exits[BHC_EXIT_WFX],
		     p ? &p->info.exits[BHC_EXIT_WFX] : NULL, dt);
		rate(r[5], sizeof(r[5]), s->info.exits[BHC_EXIT_IRQ],
		     p ? &p->info.exits[BHC_EXIT_IRQ] : NULL, dt);
		rate(r[6], sizeof(r[6]), s->irqs_injected, p ? &p->irqs_injected : NULL, dt);
		printf("%-3u %-16s %-8s %6s %9s %8s %8s %8s %8s %8s %8s\n", s->info.id,
		       s->info.name, state_name(s->info.state), cpu, r[0], r[1], r[2], r[3], r[4],
		       r[5], r[6]);
	}
	fflush(stdout);
}

int cmd_top(struct ctx *c, int argc, char **argv)
{
	const struct command *cmd = find_command("top");
	unsigned long delay = 2, count = 0;
	struct sample prev = { 0 }, cur;
	struct sigaction sa;
	int rc;

	for (int i = 1; i < argc; i++) {
		unsigned long *dst, max;
		const char *val, *opt = argv[i];

		if (!strcmp(opt, "-d") || !strcmp(opt, "-n")) {
			if (++i >= argc)
				return usage_error(cmd, "%s needs a number", opt);
			val = argv[i];
		} else if (!strncmp(argv[i], "-d", 2) || !strncmp(argv[i], "-n", 2)) {
			val = argv[i] + 2;
		} else {
			return usage_error(cmd, "unexpected argument '%s'", argv[i]);
		}
		dst = opt[1] == 'd' ? &delay : &count;
		max = opt[1] == 'd' ? 3600 : 1000000;
		if (!parse_uint(val, max, dst) || *dst == 0)
			return usage_error(cmd, "-%c wants a number from 1 to %lu, not '%s'", opt[1],
					   max, val);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = top_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((rc = take_sample(c, &prev)))
		return rc;
	/* Each frame shows the rates over the interval before it. */
	for (unsigned long f = 0; !count || f < count; f++) {
		struct timespec ts = { (time_t)delay, 0 };

		while (!top_stop && nanosleep(&ts, &ts) < 0)
			;
		if (top_stop)
			break;
		if ((rc = take_sample(c, &cur)))
			break;
		print_frame(&cur, &prev);
		free(prev.st);
		prev = cur;
	}
	free(prev.st);
	return rc;
}
