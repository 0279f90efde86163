/* bhctl raw: sends bytes to the control channel exactly as given (whole messages, headers
 * included, so malformed ones too) and prints what comes back: for protocol debugging and tests. */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bhctl.h"

#define RAW_TIMEOUT_MS 5000

/* A growing byte buffer. */
struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static int put(struct bytes *b, const void *src, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			fprintf(stderr, "bhctl raw: out of memory\n");
			return -1;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
	return 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Appends the bytes of hex text s (white space ignored). -1 after a message. */
static int put_hex(struct bytes *b, const char *s, const char *where)
{
	int hi = -1;

	for (; *s; s++) {
		int v = hexval((unsigned char)*s);
		uint8_t byte;

		if (isspace((unsigned char)*s))
			continue;
		if (v < 0) {
			fprintf(stderr, "bhctl raw: %s: '%c' is not a hex digit\n", where, *s);
			return -1;
		}
		if (hi < 0) {
			hi = v;
			continue;
		}
		byte = (uint8_t)(hi << 4 | v);
		if (put(b, &byte, 1))
			return -1;
		hi = -1;
	}
	if (hi >= 0) {
		fprintf(stderr, "bhctl raw: %s: an odd number of hex digits\n", where);
		return -1;
	}
	return 0;
}

/* Appends the bytes of file path ("-": stdin), as they are. */
static int put_file(struct bytes *b, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	uint8_t buf[4096];
	size_t n;

	if (!f) {
		fprintf(stderr, "bhctl raw: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (put(b, buf, n))
			break;
	if (ferror(f) || n) {
		if (ferror(f))
			fprintf(stderr, "bhctl raw: %s: read error\n", path);
		if (f != stdin)
			fclose(f);
		return -1;
	}
	if (f != stdin)
		fclose(f);
	return 0;
}

/* One argument's bytes: HEX, or @FILE for a file's bytes. */
static int put_arg(struct bytes *b, const char *arg)
{
	if (arg[0] == '@')
		return put_file(b, arg + 1);
	return put_hex(b, arg, "argument");
}

/* The writes to make, in order. */
struct writes {
	struct bytes *w;
	size_t n;
};

static struct bytes *new_write(struct writes *ws)
{
	struct bytes *nw = realloc(ws->w, (ws->n + 1) * sizeof(*nw));

	if (!nw) {
		fprintf(stderr, "bhctl raw: out of memory\n");
		return NULL;
	}
	ws->w = nw;
	memset(&nw[ws->n], 0, sizeof(*nw));
	return &nw[ws->n++];
}

/* -f FILE: hex text ("-": stdin); each line that is not empty or a # comment is one write,
 * continued on the next line if it ends with a backslash (into: all of it appended there). */
static int hex_lines(struct writes *ws, struct bytes *into, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	struct bytes *b = into;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	unsigned no = 0;

	if (!f) {
		fprintf(stderr, "bhctl raw: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (!rc && getline(&line, &cap, f) >= 0) {
		char where[600], *s = line, *end;
		bool more;

		no++;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			continue;
		end = s + strlen(s);
		while (end > s && isspace((unsigned char)end[-1]))
			*--end = '\0';
		more = end > s && end[-1] == '\\';
		if (more)
			end[-1] = '\0';
		snprintf(where, sizeof(where), "%s:%u", path, no);
		if (!b && !(b = new_write(ws)))
			rc = -1;
		if (!rc)
			rc = put_hex(b, s, where);
		if (!more && !into)
			b = NULL;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The seq to wait for: that of the last header found by following the len fields from the
 * first byte of everything sent. False if not even one header was sent. */
static bool last_seq(const struct writes *ws, uint32_t *seq)
{
	struct bytes all = { 0 };
	size_t at = 0;
	bool found = false;

	for (size_t i = 0; i < ws->n; i++)
		if (ws->w[i].len && put(&all, ws->w[i].p, ws->w[i].len))
			break;
	while (at <= all.len && all.len - at >= sizeof(struct bhc_hdr)) {
		*seq = le32(all.p + at + 8);
		found = true;
		at += sizeof(struct bhc_hdr) + (size_t)le32(all.p + at + 12);
	}
	free(all.p);
	return found;
}

/* Prints n bytes as hex. */
static void print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

/* Prints text quoted, escaping what is not printable; stops at a NUL. */
static void print_text(const uint8_t *p, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n && p[i]; i++) {
		if (p[i] == '"' || p[i] == '\\')
			printf("\\%c", p[i]);
		else if (p[i] == '\n')
			printf("\\n");
		else if (p[i] < 0x20 || p[i] >= 0x7f)
			printf("\\x%02x", p[i]);
		else
			putchar(p[i]);
	}
	putchar('"');
}

/* One line per message: header fields, then status and message (replies) or data. */
static void print_msg(const struct bhc_msg *m)
{
	const struct bhc_hdr *h = &m->h;
	bool reply = h->type & BHC_REPLY;

	printf("%s seq=%u type=0x%04x (%s) version=%u len=%u", reply ? "reply" : "event", h->seq,
	       h->type, bhc_type_name(h->type), h->version, h->len);
	if (reply && h->len >= sizeof(struct bhc_status)) {
		struct bhc_status st;

		memcpy(&st, m->data, sizeof(st));
		printf(" status=%d (%s)", st.status, bhc_err_name(st.status));
		if (st.status != BHC_OK) {
			printf(" msg=");
			print_text(m->data + sizeof(st), h->len - sizeof(st));
		} else if (h->len > sizeof(st)) {
			printf(" data=");
			print_hex(m->data + sizeof(st), h->len - sizeof(st));
		}
	} else if (reply) {
		printf(" short");
	} else if (h->type == BHC_EV_CONSOLE && h->len >= sizeof(struct bhc_vm_ref)) {
		printf(" vm=%u text=", le32(m->data));
		print_text(m->data + sizeof(struct bhc_vm_ref), h->len - sizeof(struct bhc_vm_ref));
	} else if (h->len) {
		printf(" data=");
		print_hex(m->data, h->len);
	}
	putchar('\n');
	fflush(stdout);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Prints messages until the reply to seq (if want) or the deadline. */
static int receive(struct chan *ch, bool want, uint32_t seq, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;

	for (;;) {
		struct bhc_msg m;
		long left = deadline - now_ms();
		int rc = chan_recv(ch, &m, left > 0 ? (int)left : 0);

		if (rc == 2)
			continue;
		if (rc == 1) {
			if (!want)
				return EXIT_OK;
			fprintf(stderr, "bhctl raw: no reply to seq %u within %d ms\n", seq,
				timeout_ms);
			return EXIT_CHAN;
		}
		if (rc)
			return EXIT_CHAN;
		print_msg(&m);
		free(m.data);
		if (want && (m.h.type & BHC_REPLY) && m.h.seq == seq)
			return EXIT_OK;
	}
}

static const struct command *raw_cmd(void)
{
	return find_command("raw");
}

/* TYPE: a number (decimal or 0x hex) or an operation's name. */
static bool parse_type(const char *s, uint16_t *type)
{
	char *end;
	unsigned long v;

	for (unsigned t = 1; t <= BHC_BLK_STATS; t++)
		if (!strcasecmp(s, bhc_type_name((uint16_t)t))) {
			*type = (uint16_t)t;
			return true;
		}
	errno = 0;
	v = strtoul(s, &end, 0);
	if (!*s || *end || errno || v > 0xffff || *s == '-')
		return false;
	*type = (uint16_t)v;
	return true;
}

static bool parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (!*s || *end || errno || v > 0xffffffffull || *s == '-')
		return false;
	*out = (uint32_t)v;
	return true;
}

int cmd_raw(struct ctx *c, int argc, char **argv)
{
	struct writes ws = { 0 };
	struct bytes payload = { 0 };
	const char *file = NULL;
	bool msg = false, want = false;
	uint16_t type = 0;
	uint32_t seq = 0, msg_seq = 0;
	unsigned long timeout_s = RAW_TIMEOUT_MS / 1000, delay_ms = 0;
	int i, rc = EXIT_USAGE;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *o = argv[i];

		if (!strcmp(o, "--")) {
			i++;
			break;
		}
		if (!strcmp(o, "--msg")) {
			if (i + 2 >= argc)
				return usage_error(raw_cmd(), "--msg needs TYPE and SEQ");
			if (!parse_type(argv[i + 1], &type))
				return usage_error(raw_cmd(), "TYPE '%s': a number or a name",
						   argv[i + 1]);
			if (!parse_u32(argv[i + 2], &msg_seq))
				return usage_error(raw_cmd(), "SEQ '%s': a number", argv[i + 2]);
			msg = true;
			i += 2;
			continue;
		}
		if (i + 1 >= argc)
			return usage_error(raw_cmd(), "%s needs a value", o);
		if (!strcmp(o, "-t")) {
			if (!parse_uint(argv[++i], 3600, &timeout_s))
				return usage_error(raw_cmd(), "-t: seconds, 0..3600");
		} else if (!strcmp(o, "-s")) {
			if (!parse_u32(argv[++i], &seq))
				return usage_error(raw_cmd(), "-s: a sequence number");
			want = true;
		} else if (!strcmp(o, "-d")) {
			if (!parse_uint(argv[++i], 60000, &delay_ms))
				return usage_error(raw_cmd(), "-d: milliseconds, 0..60000");
		} else if (!strcmp(o, "-f")) {
			file = argv[++i];
		} else {
			return usage_error(raw_cmd(), "unknown option '%s'", o);
		}
	}
	if (!msg && !file && i >= argc)
		return usage_error(raw_cmd(), "nothing to send");

	if (msg) { /* one write: a well-formed header around the payload */
		struct bhc_hdr h = { BHC_MAGIC, BHC_VERSION, type, msg_seq, 0 };
		struct bytes *w;

		for (; i < argc; i++)
			if (put_arg(&payload, argv[i]))
				goto out;
		if (file && hex_lines(&ws, &payload, file))
			goto out;
		if (payload.len > UINT32_MAX) {
			fprintf(stderr, "bhctl raw: a payload of %zu bytes\n", payload.len);
			goto out;
		}
		h.len = (uint32_t)payload.len;
		if (!(w = new_write(&ws)) || put(w, &h, sizeof(h)) ||
		    (payload.len && put(w, payload.p, payload.len)))
			goto out;
	} else { /* each argument, then each line of FILE, is one write */
		for (; i < argc; i++) {
			struct bytes *w = new_write(&ws);

			if (!w || put_arg(w, argv[i]))
				goto out;
		}
		if (file && hex_lines(&ws, NULL, file))
			goto out;
	}
	if (!want)
		want = last_seq(&ws, &seq);

	rc = chan_open(c);
	if (rc)
		goto out;
	for (size_t k = 0; k < ws.n; k++) {
		const uint8_t *p = ws.w[k].p;
		size_t left = ws.w[k].len;

		if (k && delay_ms) {
			struct timespec d = { (time_t)(delay_ms / 1000),
					      (long)(delay_ms % 1000) * 1000000L };

			nanosleep(&d, NULL);
		}
		while (left) { /* the port takes at most 32 KiB per write(): the rest follows */
			ssize_t n = write(c->ch.fd, p, left);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				fprintf(stderr, "bhctl raw: writing to the control channel: %s\n",
					n < 0 ? strerror(errno) : "closed");
				rc = EXIT_CHAN;
				goto out;
			}
			p += n;
			left -= (size_t)n;
		}
	}
	rc = receive(&c->ch, want, seq, (int)timeout_s * 1000);
out:
	for (size_t k = 0; k < ws.n; k++)
		free(ws.w[k].p);
	free(ws.w);
	free(payload.p);
	return rc;
}
