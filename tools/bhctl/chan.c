/* bhctl's control channel: finding and opening the "bulkhead.ctl" virtio-console port, framing
 * messages (one write each), and a stream parser that matches replies to requests by seq. */
#define _DEFAULT_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "bhctl.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "bhctl sends the protocol's little-endian records as they are in memory"
#endif

#define SYSFS_PORTS "/sys/class/virtio-ports"
#define PATH_LEN 512

static const char *const err_names[] = {
	"OK", "EPROTO", "ETYPE", "EPERM", "ENOENT", "ESTATE", "ENOMEM", "EFULL", "ECONFIG",
	"ERANGE", "EBUSY",
};

const char *bhc_err_name(int32_t status)
{
	if (status <= 0 && -status < (int32_t)(sizeof(err_names) / sizeof(err_names[0])))
		return err_names[-status];
	return "unknown error";
}

static const char *const type_names[] = {
	"?", "HELLO", "LIST", "STATS", "CREATE", "LOAD", "START", "STOP", "REBOOT", "PAUSE",
	"UNPAUSE", "DESTROY", "CONSOLE_ATTACH", "CONSOLE_INPUT", "CONSOLE_DETACH", "NET_STATS",
	"BLK_STATS",
};

const char *bhc_type_name(uint16_t type)
{
	type &= (uint16_t)~BHC_REPLY;
	if (type < sizeof(type_names) / sizeof(type_names[0]))
		return type_names[type];
	return type == BHC_EV_CONSOLE ? "EV_CONSOLE" : "?";
}

/* Finds /dev/vportNpM whose sysfs name is port (what: "control channel", for messages).
 * Returns 0 or EXIT_CHAN. */
static int find_port(const char *port, const char *what, char *path, size_t cap)
{
	DIR *d = opendir(SYSFS_PORTS);
	struct dirent *e;

	if (!d) {
		fprintf(stderr,
			"bhctl: no %s: %s is missing (no virtio-console: is "
			"virtio_console loaded? `modprobe virtio_mmio virtio_console`)\n",
			what, SYSFS_PORTS);
		return EXIT_CHAN;
	}
	while ((e = readdir(d))) {
		char name[PATH_LEN], buf[64] = "";
		FILE *f;
		size_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%s/%s/name", SYSFS_PORTS, e->d_name);
		f = fopen(name, "r");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		buf[strcspn(buf, "\n")] = 0;
		if (!strcmp(buf, port)) {
			snprintf(path, cap, "/dev/%s", e->d_name);
			closedir(d);
			return 0;
		}
	}
	closedir(d);
	fprintf(stderr,
		"bhctl: no %s: no virtio-console port named '%s' in %s "
		"(is this the management VM?)\n",
		what, port, SYSFS_PORTS);
	return EXIT_CHAN;
}

int chan_open(struct ctx *c)
{
	char found[PATH_LEN];
	const char *path = c->device, *t = getenv("BHCTL_TIMEOUT");
	const char *port = c->port ? c->port : BHC_PORT_NAME;
	const char *what = c->port ? c->port_what : "control channel";
	struct chan *ch = &c->ch;
	int fd;

	if (c->open)
		return 0;
	if (!path) {
		if (find_port(port, what, found, sizeof(found)))
			return EXIT_CHAN;
		path = found;
	}
	fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EBUSY)
			fprintf(stderr, "bhctl: %s: the %s is in use by another bhctl\n", path,
				what);
		else
			fprintf(stderr, "bhctl: cannot open the %s %s: %s\n", what, path,
				strerror(errno));
		return EXIT_CHAN;
	}
	if (isatty(fd)) { /* a pty (host tests) or a serial line: bytes as they are */
		struct termios tio;

		if (tcgetattr(fd, &tio) == 0) {
			cfmakeraw(&tio);
			tcsetattr(fd, TCSANOW, &tio);
		}
	}
	memset(ch, 0, sizeof(*ch));
	ch->fd = fd;
	ch->what = what;
	snprintf(ch->path, sizeof(ch->path), "%s", path);
	/* Not 0: a reply still queued from an earlier, interrupted bhctl should not match. */
	ch->seq = ((uint32_t)getpid() << 16) ^ (uint32_t)time(NULL);
	ch->timeout_ms = REPLY_TIMEOUT_MS;
	if (t && *t) {
		unsigned long s;

		if (parse_uint(t, 3600, &s) && s)
			ch->timeout_ms = (int)s * 1000;
	}
	ch->console_vm = UINT32_MAX;
	c->open = true;
	return 0;
}

void chan_close(struct ctx *c)
{
	if (!c->open)
		return;
	close(c->ch.fd);
	free(c->ch.buf);
	c->open = false;
}

/* Writes all of buf: the port may accept less than asked (Linux's virtio_console takes at
 * most 32 KiB per write). */
static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int chan_send(struct chan *ch, uint16_t type, uint32_t seq, const void *a, size_t alen,
	      const void *b, size_t blen)
{
	struct bhc_hdr h = {
		.magic = BHC_MAGIC, .version = BHC_VERSION, .type = type, .seq = seq,
		.len = (uint32_t)(alen + blen),
	};
	size_t total = sizeof(h) + alen + blen;
	uint8_t *msg;
	int rc;

	if (alen + blen > BHC_MAX_PAYLOAD) {
		fprintf(stderr, "bhctl: internal error: %s payload of %zu bytes\n",
			bhc_type_name(type), alen + blen);
		return EXIT_FAIL;
	}
	msg = malloc(total);
	if (!msg) {
		fprintf(stderr, "bhctl: out of memory\n");
		return EXIT_FAIL;
	}
	memcpy(msg, &h, sizeof(h));
	if (alen)
		memcpy(msg + sizeof(h), a, alen);
	if (blen)
		memcpy(msg + sizeof(h) + alen, b, blen);
	rc = write_all(ch->fd, msg, total); /* one message, one write (if the port takes it) */
	free(msg);
	if (rc) {
		fprintf(stderr, "bhctl: writing to the %s: %s\n", ch->what,
			errno ? strerror(errno) : "closed");
		return EXIT_CHAN;
	}
	return 0;
}

static const uint8_t magic_bytes[4] = { 'B', 'H', 'C', '1' };

/* Drops bytes before the next magic (say, the tail of a reply to an interrupted bhctl). A
 * partial magic at the very end is kept. */
static void skip_to_magic(struct chan *ch)
{
	size_t start = 0;

	while (start < ch->len) {
		size_t k = ch->len - start < 4 ? ch->len - start : 4;

		if (!memcmp(ch->buf + start, magic_bytes, k))
			break;
		start++;
	}
	if (start) {
		ch->skipped += start;
		memmove(ch->buf, ch->buf + start, ch->len - start);
		ch->len -= start;
	}
}

/* Takes one whole message off the front of the stream. Returns 1 if it did, 0 if more bytes
 * are needed, -1 on a header no resynchronisation can fix (after a message). With ch->resync,
 * a bad header is reported and skipped instead (the next magic starts over). */
static int parse_one(struct chan *ch, struct bhc_msg *m)
{
	struct bhc_hdr h;

	for (;;) {
		skip_to_magic(ch);
		if (ch->len < sizeof(h))
			return 0;
		memcpy(&h, ch->buf, sizeof(h));
		if (h.version == BHC_VERSION && h.len <= BHC_MAX_PAYLOAD)
			break;
		if (ch->resync) {
			fprintf(stderr,
				"bhctl: protocol error on the %s: a header with version %u and "
				"length %u (this bhctl speaks version %d, at most %u bytes): "
				"skipped\n",
				ch->what, h.version, h.len, BHC_VERSION, BHC_MAX_PAYLOAD);
			ch->skipped++;
			ch->len--;
			memmove(ch->buf, ch->buf + 1, ch->len);
			continue;
		}
		if (h.version != BHC_VERSION)
			fprintf(stderr,
				"bhctl: the hypervisor speaks control protocol version %u; this "
				"bhctl speaks version %d\n",
				h.version, BHC_VERSION);
		else
			fprintf(stderr,
				"bhctl: protocol error: a message of %u bytes from the hypervisor "
				"(at most %u)\n",
				h.len, BHC_MAX_PAYLOAD);
		return -1;
	}
	if (ch->len < sizeof(h) + h.len)
		return 0;
	m->h = h;
	m->data = malloc((size_t)h.len + 1); /* +1: a NUL after it, for messages */
	if (!m->data) {
		fprintf(stderr, "bhctl: out of memory\n");
		return -1;
	}
	memcpy(m->data, ch->buf + sizeof(h), h.len);
	m->data[h.len] = 0;
	ch->len -= sizeof(h) + h.len;
	memmove(ch->buf, ch->buf + sizeof(h) + h.len, ch->len);
	return 1;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

int chan_fill(struct chan *ch)
{
	ssize_t n;

	if (ch->cap - ch->len < 65536) {
		size_t cap = ch->cap ? ch->cap * 2 : 2 * (BHC_MAX_PAYLOAD + 64);
		uint8_t *nb = realloc(ch->buf, cap);

		if (!nb) {
			fprintf(stderr, "bhctl: out of memory\n");
			return -1;
		}
		ch->buf = nb;
		ch->cap = cap;
	}
	n = read(ch->fd, ch->buf + ch->len, 65536);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		fprintf(stderr, "bhctl: the %s was closed%s%s\n", ch->what, n < 0 ? ": " : "",
			n < 0 ? strerror(errno) : "");
		return -1;
	}
	ch->len += (size_t)n;
	return 0;
}

int chan_recv(struct chan *ch, struct bhc_msg *m, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = ch->fd, .events = POLLIN };
		int r = parse_one(ch, m);
		long left;

		if (r)
			return r > 0 ? 0 : -1;
		left = deadline - now_ms();
		if (timeout_ms >= 0 && left <= 0)
			return 1;
		r = poll(&p, 1, timeout_ms < 0 ? -1 : (int)left);
		if (r < 0 && errno == EINTR)
			return 2;
		if (r < 0) {
			fprintf(stderr, "bhctl: poll: %s\n", strerror(errno));
			return -1;
		}
		if (r == 0)
			continue;
		if (chan_fill(ch))
			return -1;
	}
}

/* Delivers a console event for the attached VM, if someone wants it. */
static void console_event(struct chan *ch, const struct bhc_msg *m)
{
	struct bhc_vm_ref ref;

	if (!ch->on_console || m->h.len < sizeof(ref))
		return;
	memcpy(&ref, m->data, sizeof(ref));
	if (ref.id == ch->console_vm)
		ch->on_console(m->data + sizeof(ref), m->h.len - sizeof(ref));
}

int chan_call(struct chan *ch, uint16_t type, const void *a, size_t alen, const void *b,
	      size_t blen, struct reply *r)
{
	uint32_t seq = ch->seq++;
	long deadline;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = chan_send(ch, type, seq, a, alen, b, blen);
	if (rc)
		return rc;
	deadline = now_ms() + ch->timeout_ms;
	for (;;) {
		struct bhc_msg m;
		long left = deadline - now_ms();
		struct bhc_status st;

		rc = chan_recv(ch, &m, left > 0 ? (int)left : 0);
		if (rc == 2)
			continue; /* a signal; the deadline still holds */
		if (rc == 1) {
			fprintf(stderr, "bhctl: no reply from the hypervisor to %s within %d s\n",
				bhc_type_name(type), ch->timeout_ms / 1000);
			return EXIT_CHAN;
		}
		if (rc)
			return EXIT_CHAN;
		if (m.h.type == BHC_EV_CONSOLE) {
			console_event(ch, &m);
			free(m.data);
			continue;
		}
		if (!(m.h.type & BHC_REPLY) || m.h.seq != seq) {
			free(m.data); /* another request's (stale) reply, or an unknown event */
			continue;
		}
		if (m.h.type != (type | BHC_REPLY)) {
			fprintf(stderr,
				"bhctl: protocol error: the reply to %s (seq %u) has type 0x%x\n",
				bhc_type_name(type), seq, m.h.type);
			free(m.data);
			return EXIT_CHAN;
		}
		if (m.h.len < sizeof(st)) {
			fprintf(stderr,
				"bhctl: protocol error: the reply to %s is %u bytes, shorter than "
				"its status\n",
				bhc_type_name(type), m.h.len);
			free(m.data);
			return EXIT_CHAN;
		}
		memcpy(&st, m.data, sizeof(st));
		r->msg = m;
		r->status = st.status;
		r->data = m.data + sizeof(st);
		r->len = m.h.len - sizeof(st);
		return 0;
	}
}

void reply_free(struct reply *r)
{
	free(r->msg.data);
	r->msg.data = NULL;
}
