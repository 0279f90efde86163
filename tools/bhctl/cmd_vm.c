/* bhctl's commands on the system and on one VM: list, info, start, reboot, pause, unpause,
 * destroy, and stop (which waits for the guest to power off). */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bhctl.h"

/* Commands that take no operand. */
static int no_args(const char *name, int argc, char **argv)
{
	if (argc > 1)
		return usage_error(find_command(name), "unexpected argument '%s'", argv[1]);
	return 0;
}

int cmd_list(struct ctx *c, int argc, char **argv)
{
	struct bhc_vm_info *vms;
	uint32_t n;
	int rc = no_args("list", argc, argv);

	if (rc || (rc = op_list(c, &vms, &n)))
		return rc;
	print_list(stdout, vms, n);
	free(vms);
	return EXIT_OK;
}

int cmd_info(struct ctx *c, int argc, char **argv)
{
	struct bhc_hello h;
	int rc = no_args("info", argc, argv);

	if (rc || (rc = op_hello(c, &h)))
		return rc;
	print_hello(stdout, &h);
	return EXIT_OK;
}

/* Takes the one VM operand of argv (no options); NULL after a usage message. */
const char *one_vm(const struct command *cmd, int argc, char **argv, int first)
{
	int i = first;

	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	else if (i < argc && argv[i][0] == '-' && argv[i][1]) {
		usage_error(cmd, "unknown option '%s'", argv[i]);
		return NULL;
	}
	if (i >= argc) {
		usage_error(cmd, "which VM? (a name or an id, see `bhctl list`)");
		return NULL;
	}
	if (i + 1 < argc) {
		usage_error(cmd, "one VM at a time ('%s' is too many)", argv[i + 1]);
		return NULL;
	}
	return argv[i];
}

static const struct {
	const char *name;
	uint16_t type;
	const char *done; /* what bhctl says after it */
} vmops[] = {
	{ "start", BHC_START, "started" },     { "reboot", BHC_REBOOT, "rebooted" },
	{ "pause", BHC_PAUSE, "paused" },      { "unpause", BHC_UNPAUSE, "unpaused" },
	{ "destroy", BHC_DESTROY, "destroyed" }, { "stop", BHC_STOP, "asked to power off" },
};

/* Sends the operation of that name to the VM; prints what happened. */
static int vm_op(struct ctx *c, const char *op, const struct bhc_vm_info *vm)
{
	struct bhc_vm_ref ref = { .id = vm->id };
	char what[64];

	for (size_t i = 0; i < sizeof(vmops) / sizeof(vmops[0]); i++) {
		int rc;

		if (strcmp(vmops[i].name, op))
			continue;
		snprintf(what, sizeof(what), "%s '%s'", op, vm->name);
		rc = op_simple(c, vmops[i].type, &ref, sizeof(ref), NULL, 0, what, NULL);
		if (!rc)
			printf("bhctl: vm %u '%s' %s\n", vm->id, vm->name, vmops[i].done);
		return rc;
	}
	return EXIT_FAIL;
}

int cmd_vmop(struct ctx *c, int argc, char **argv)
{
	const struct command *cmd = find_command(argv[0]);
	const char *arg = one_vm(cmd, argc, argv, 1);
	struct bhc_vm_info vm;
	int rc;

	if (!arg)
		return EXIT_USAGE;
	if ((rc = resolve_vm(c, arg, &vm)))
		return rc;
	return vm_op(c, argv[0], &vm);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Polls LIST until the VM is off (or gone). Returns 0, or EXIT_TIMEOUT, or an error. */
static int wait_off(struct ctx *c, const struct bhc_vm_info *target, unsigned long secs)
{
	double deadline = now_s() + (double)secs;
	struct timespec tick = { 0, 200 * 1000000L };

	for (;;) {
		struct bhc_vm_info *vms;
		uint32_t n, i;
		int rc = op_list(c, &vms, &n);

		if (rc)
			return rc;
		for (i = 0; i < n && vms[i].id != target->id; i++)
			;
		if (i == n || vms[i].state == BHC_VM_OFF || vms[i].state == BHC_VM_CRASHED) {
			const char *how = i == n ? "is gone" : vms[i].state == BHC_VM_OFF
									? "is off"
									: "crashed";

			printf("bhctl: vm %u '%s' %s\n", target->id, target->name, how);
			free(vms);
			return EXIT_OK;
		}
		free(vms);
		if (now_s() >= deadline)
			break;
		nanosleep(&tick, NULL);
	}
	fprintf(stderr,
		"bhctl: vm %u '%s' did not power off within %lu s; `bhctl destroy %s` removes "
		"it at once\n",
		target->id, target->name, secs, target->name);
	return EXIT_TIMEOUT;
}

int cmd_stop(struct ctx *c, int argc, char **argv)
{
	const struct command *cmd = find_command("stop");
	unsigned long secs = 30;
	struct bhc_vm_info vm;
	const char *arg;
	int i = 1, rc;

	for (; i < argc && argv[i][0] == '-' && argv[i][1] && strcmp(argv[i], "--"); i++) {
		const char *val;

		if (!strcmp(argv[i], "-t")) {
			if (++i >= argc)
				return usage_error(cmd, "-t needs a number of seconds");
			val = argv[i];
		} else if (!strncmp(argv[i], "-t", 2)) {
			val = argv[i] + 2;
		} else {
			return usage_error(cmd, "unknown option '%s'", argv[i]);
		}
		if (!parse_uint(val, 3600, &secs))
			return usage_error(cmd, "-t wants seconds from 0 to 3600, not '%s'", val);
	}
	arg = one_vm(cmd, argc, argv, i);
	if (!arg)
		return EXIT_USAGE;
	if ((rc = resolve_vm(c, arg, &vm)))
		return rc;
	if (vm.state == BHC_VM_OFF) {
		printf("bhctl: vm %u '%s' is already off\n", vm.id, vm.name);
		return EXIT_OK;
	}
	if ((rc = vm_op(c, "stop", &vm)))
		return rc;
	return secs ? wait_off(c, &vm, secs) : EXIT_OK;
}
