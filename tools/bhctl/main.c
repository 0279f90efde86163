/* bhctl: the management VM's tool for the Bulkhead hypervisor (docs/control.md). This file is
 * the command table, global options, help texts and exit codes; each command has its own file. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bhctl.h"

#define EXIT_CODES                                                                         \
	"Exit status: 0 ok, 1 refused or failed (the message says why), 2 usage error,\n"  \
	"3 control channel unavailable, in use, or broken, 4 stop: the VM did not power\n" \
	"off in time\n"

static const struct command commands[] = {
	{ "list", cmd_list, "", "list the VMs: id, name, state, vCPUs, memory, uptime, exits",
	  "Lists every VM: its id, name, state (loading, running, paused, off, crashed),\n"
	  "kind (mgmt: the management VM, boot: made at boot, dyn: created by bhctl),\n"
	  "vCPUs and the physical CPU each runs on, memory size, uptime and total exits.\n" },
	{ "info", cmd_info, "", "the hypervisor: versions, physical CPUs, memory pool",
	  "Shows the hypervisor's version, the control protocol version, the physical CPUs,\n"
	  "the number of VMs and the memory pool set aside for VMs created at run time.\n" },
	{ "create", cmd_create, "[-p] FILE", "create a VM from FILE (.dts or .dtb) and start it",
	  "FILE describes one VM in the boot configuration format (docs/config.md): exactly\n"
	  "one node under /vms and no /channels. A .dts is compiled with dtc. Paths (image,\n"
	  "initrd, dtb, virtio-blk@N/image) are relative to FILE's folder. bhctl checks the\n"
	  "configuration with the hypervisor's own parser, sends it, streams the files, then\n"
	  "starts the VM. If anything fails after the VM was created, it is destroyed again.\n"
	  "  -p   create it paused, before its first instruction (`bhctl unpause VM` runs it)\n" },
	{ "start", cmd_vmop, "VM", "boot a VM that is loaded, off or crashed",
	  "Boots VM (a name or an id) from its images: a VM created with -p, one that\n"
	  "powered off, or one the hypervisor stopped.\n" },
	{ "stop", cmd_stop, "[-t SECONDS] VM", "ask VM to power off, wait until it is off",
	  "Presses VM's power button (the guest sees a KEY_POWER press) and waits until it\n"
	  "is off, at most SECONDS (default 30; 0: do not wait). A guest that ignores the\n"
	  "button keeps running: `bhctl destroy VM` removes it at once.\n"
	  "  -t SECONDS   how long to wait (0..3600)\n" },
	{ "reboot", cmd_vmop, "VM", "reset VM at once; it boots again",
	  "Resets VM immediately (no shutdown in the guest) and boots it again.\n" },
	{ "pause", cmd_vmop, "VM", "stop running VM's vCPUs",
	  "Takes a running VM off its physical CPUs until `bhctl unpause VM`.\n" },
	{ "unpause", cmd_vmop, "VM", "let a paused VM run again", "Resumes a paused VM.\n" },
	{ "destroy", cmd_vmop, "VM", "remove VM at once; its memory returns to the pool",
	  "Removes VM whatever its state: its vCPUs stop, its memory is scrubbed and goes\n"
	  "back to the pool, its id becomes free.\n" },
	{ "console", cmd_console, "VM", "attach to VM's console (Ctrl-\\ detaches)",
	  "Shows what VM writes to its console and sends it what you type. On a terminal,\n"
	  "keys go to the VM as they are (Ctrl-C included); Ctrl-\\ detaches. When stdin is\n"
	  "not a terminal, its bytes are sent and bhctl detaches at its end.\n" },
	{ "stats", cmd_stats, "VM", "VM's counters: exits by reason and device, interrupts",
	  "Shows VM's exits per reason (hypercall, mmio, sysreg, wfx, irq, fault, other),\n"
	  "MMIO exits per device, interrupts injected, run time, control requests\n"
	  "refused because they did not come from the management VM, and for each\n"
	  "virtio-net port its switch, address and frame counters: tx, rx, tx-bad\n"
	  "(refused: too short or long, or another source address), tx-limited\n"
	  "(floods held back by storm control), rx-dropped (no receive buffer); and for\n"
	  "each virtio-blk disk its size, kind, and reads, writes (requests and bytes),\n"
	  "flushes and failed requests.\n" },
	{ "top", cmd_top, "[-d SECONDS] [-n COUNT]", "every VM's rates, refreshed (like xentop)",
	  "Shows every VM's CPU use (its vCPUs' run time per second of wall time, 100% per\n"
	  "busy vCPU), exits per second by reason and interrupts injected per second,\n"
	  "measured over each interval. Plain text; on a terminal the screen is cleared\n"
	  "before each refresh.\n"
	  "  -d SECONDS   interval (default 2, 1..3600)\n"
	  "  -n COUNT     stop after COUNT refreshes (default: until interrupted)\n" },
	{ "blkd", cmd_blkd, "[-d] [-v] [-l FILE]",
	  "serve guests' mediated disks from files in this VM",
	  "The daemon behind virtio-blk disks configured with `mediated = \"PATH\"`\n"
	  "(docs/config.md): it reads the guests' requests, which the hypervisor forwards on\n"
	  "the virtio-console port '" BHC_BLK_PORT_NAME "', does them on the file PATH in this VM\n"
	  "and answers. A missing file is created with the disk's size, a shorter one is\n"
	  "extended to it (a block device must be large enough). It prints a line for each\n"
	  "file it opens and for each error; SIGTERM or SIGINT makes it sync its files and\n"
	  "exit. Requests it does not serve leave the guest's disk waiting.\n"
	  "  -d, --daemon     run in the background once the port is open (prints the pid)\n"
	  "  -v, --verbose    also a line for every request\n"
	  "  -l, --log FILE   append the output to FILE\n"
	  "  --device PATH    the port (default: the one named '" BHC_BLK_PORT_NAME "')\n"
	  "blkd exits 0 after SIGTERM or SIGINT with its files synced, 1 if a file could\n"
	  "not be synced (or FILE opened), 3 if the port is missing, in use or closed.\n" },
	{ "raw", cmd_raw, "[OPTIONS] [--msg TYPE SEQ] [HEX|@FILE]...",
	  "send bytes as given, print the replies (debugging)",
	  "For protocol debugging and tests. Sends bytes to the control channel exactly as\n"
	  "given, whole messages with their 16-byte header (malformed ones too: nothing is\n"
	  "checked or fixed), then prints one line per message that comes back: its header\n"
	  "fields, a reply's status as a number and a name and its message text (or its\n"
	  "data in hex), until the reply to the awaited seq arrives or the timeout.\n"
	  "Each HEX argument (hex digits, white space ignored) or @FILE (the bytes of FILE;\n"
	  "@- stdin) is one write(); so is each line of -f FILE (hex text; - stdin; empty\n"
	  "lines and # comments skipped; a line ending in \\ goes on in the next), after\n"
	  "the arguments. The awaited seq is that of the last header found\n"
	  "by following the len fields from the first byte sent (none: print what comes\n"
	  "until the timeout, exit 0).\n"
	  "  --msg TYPE SEQ  one write: a well-formed header (magic, version 1, TYPE, SEQ,\n"
	  "                  the payload's length) around the payload the arguments (and -f)\n"
	  "                  give, joined; TYPE is a number or a name (HELLO, LIST, ...)\n"
	  "  -s SEQ          wait for the reply to SEQ\n"
	  "  -t SECONDS      how long to wait (default 5, 0..3600)\n"
	  "  -d MS           pause between writes (default 0)\n"
	  "Output lines: `reply seq=N type=0xT (NAME) version=V len=L status=S (ENAME)` then\n"
	  "` msg=\"TEXT\"` (an error) or ` data=HEX` (OK with data); events likewise, with\n"
	  "` vm=ID text=\"TEXT\"` for EV_CONSOLE. Exit 0 when the reply came, whatever its\n"
	  "status; 3 if it did not within the timeout or the channel failed.\n" },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void main_usage(FILE *f)
{
	fprintf(f, "usage: bhctl [--device PATH] COMMAND [ARGS]\n"
		   "Controls the Bulkhead hypervisor from its management VM (docs/control.md).\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < NR_COMMANDS; i++)
		fprintf(f, "  %-8s %-24s %s\n", commands[i].name, commands[i].args,
			commands[i].summary);
	fprintf(f, "\nOptions:\n"
		   "  --device PATH  the control channel (default: $BHCTL_DEVICE, else the\n"
		   "                 virtio-console port named '" BHC_PORT_NAME "')\n"
		   "  --help         this text; `bhctl COMMAND --help` for a command's\n"
		   "VM is a name or an id. $BHCTL_TIMEOUT: seconds to wait for a reply (10).\n"
		   EXIT_CODES);
}

static void cmd_usage(FILE *f, const struct command *cmd)
{
	fprintf(f, "usage: bhctl %s%s%s\n%s", cmd->name, *cmd->args ? " " : "", cmd->args,
		cmd->help);
	fprintf(f, EXIT_CODES);
}

int usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bhctl %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: bhctl %s%s%s  (bhctl %s --help for more)\n", cmd->name,
		*cmd->args ? " " : "", cmd->args, cmd->name);
	return EXIT_USAGE;
}

bool want_help(const struct command *cmd, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			cmd_usage(stdout, cmd);
			return true;
		}
	}
	return false;
}

bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	struct ctx c = { .prog = "bhctl", .device = getenv("BHCTL_DEVICE") };
	const struct command *cmd;
	int i, rc;

	if (c.device && !*c.device)
		c.device = NULL;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			main_usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--device")) {
			if (++i >= argc) {
				fprintf(stderr, "bhctl: --device needs a path\n");
				return EXIT_USAGE;
			}
			c.device = argv[i];
			c.device_cli = true;
		} else if (!strncmp(argv[i], "--device=", 9)) {
			c.device = argv[i] + 9;
			c.device_cli = true;
		} else {
			fprintf(stderr, "bhctl: unknown option '%s'\n", argv[i]);
			main_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "bhctl: no command\n");
		main_usage(stderr);
		return EXIT_USAGE;
	}
	cmd = find_command(argv[i]);
	if (!cmd) {
		fprintf(stderr, "bhctl: unknown command '%s'\n", argv[i]);
		main_usage(stderr);
		return EXIT_USAGE;
	}
	if (want_help(cmd, argc - i, argv + i))
		return EXIT_OK;
	rc = cmd->run(&c, argc - i, argv + i);
	chan_close(&c);
	return rc;
}
