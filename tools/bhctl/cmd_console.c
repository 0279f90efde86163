/* bhctl console: attaches to a VM's console through the control channel; keyboard bytes go
 * to the VM, its output to stdout, and Ctrl-\ (0x1c) detaches. */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "bhctl.h"

#define DETACH_KEY 0x1c /* Ctrl-\ (Ctrl-] is QEMU's escape in this project's setup) */

static struct termios saved_tio;
static bool tio_saved;
static volatile sig_atomic_t stop_signal;

static void restore_tty(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
	tio_saved = false;
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void write_out(const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(STDOUT_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void raw_stdin(void)
{
	struct termios tio;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio))
		return;
	tio = saved_tio;
	cfmakeraw(&tio);
	tio.c_oflag |= OPOST | ONLCR; /* bhctl's own messages still get their \r */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &tio) == 0) {
		tio_saved = true;
		atexit(restore_tty);
	}
}

/* Handles what arrived on the channel: output and replies to our input. Returns 0, or an exit
 * code if the hypervisor refused input (the VM went away, say). */
static int drain(struct ctx *c, uint32_t first_seq)
{
	struct chan *ch = &c->ch;
	struct bhc_msg m;
	int rc;

	while ((rc = chan_recv(ch, &m, 0)) == 0) {
		struct bhc_status st;

		if (m.h.type == BHC_EV_CONSOLE) {
			struct bhc_vm_ref ref;

			if (m.h.len >= sizeof(ref)) {
				memcpy(&ref, m.data, sizeof(ref));
				if (ref.id == ch->console_vm)
					write_out(m.data + sizeof(ref), m.h.len - sizeof(ref));
			}
		} else if (m.h.type == (BHC_CONSOLE_INPUT | BHC_REPLY) &&
			   m.h.seq - first_seq < ch->seq - first_seq) {
			if (m.h.len < sizeof(st)) {
				fprintf(stderr, "\nbhctl: protocol error: short reply to input\n");
				free(m.data);
				return EXIT_CHAN;
			}
			memcpy(&st, m.data, sizeof(st));
			if (st.status != BHC_OK) {
				struct reply r = { .msg = m, .status = st.status,
						   .data = m.data + sizeof(st),
						   .len = m.h.len - sizeof(st) };

				fprintf(stderr, "\r\n");
				report_refusal("console input", &r);
				free(m.data);
				return EXIT_FAIL;
			}
		}
		free(m.data);
	}
	return rc == 1 || rc == 2 ? 0 : EXIT_CHAN;
}

/* Sends keyboard bytes up to the detach key (*detach then set). */
static int send_input(struct ctx *c, const uint8_t *buf, size_t n, bool *detach)
{
	struct bhc_vm_ref ref = { .id = c->ch.console_vm };
	const uint8_t *key = memchr(buf, DETACH_KEY, n);

	if (key) {
		n = (size_t)(key - buf);
		*detach = true;
	}
	if (!n)
		return 0;
	return chan_send(&c->ch, BHC_CONSOLE_INPUT, c->ch.seq++, &ref, sizeof(ref), buf, n);
}

static void console_output(const uint8_t *bytes, size_t n)
{
	write_out(bytes, n);
}

/* Copies between the terminal and the channel until detach, end of input or a signal. */
static int pump(struct ctx *c)
{
	uint32_t first_seq = c->ch.seq;
	bool stdin_open = true, detach = false;
	int rc = 0;

	while (!detach && !stop_signal && !rc) {
		struct pollfd p[2] = {
			{ .fd = c->ch.fd, .events = POLLIN },
			{ .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
		};
		uint8_t buf[1024];
		ssize_t n;

		if ((rc = drain(c, first_seq)))
			break;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return EXIT_CHAN;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
			rc = chan_fill(&c->ch) ? EXIT_CHAN : 0;
		if (!(p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			detach = true; /* end of input: nothing more to send */
		else
			rc = send_input(c, buf, (size_t)n, &detach);
	}
	return rc;
}

int cmd_console(struct ctx *c, int argc, char **argv)
{
	const char *arg = one_vm(find_command("console"), argc, argv, 1);
	struct bhc_vm_ref ref;
	struct bhc_vm_info vm;
	struct sigaction sa;
	int rc, rc2;

	if (!arg)
		return EXIT_USAGE;
	if ((rc = resolve_vm(c, arg, &vm)))
		return rc;
	ref = (struct bhc_vm_ref){ .id = vm.id };
	c->ch.console_vm = vm.id;
	c->ch.on_console = console_output;
	if ((rc = op_simple(c, BHC_CONSOLE_ATTACH, &ref, sizeof(ref), NULL, 0, "console", NULL)))
		return rc;
	fprintf(stderr, "bhctl: attached to '%s'; Ctrl-\\ detaches\n", vm.name);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll returns, bhctl detaches */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	raw_stdin();
	rc = pump(c);
	rc2 = op_simple(c, BHC_CONSOLE_DETACH, NULL, 0, NULL, 0, "console detach", NULL);
	restore_tty();
	fprintf(stderr, "\r\nbhctl: detached from '%s'\n", vm.name);
	return rc ? rc : rc2;
}
