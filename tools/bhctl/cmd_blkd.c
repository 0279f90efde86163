/* bhctl blkd: the mediated-disk daemon. Serves the guests' virtio-blk requests that the
 * hypervisor forwards on the "bulkhead.blk" port from backing files in the management VM. */
#define _DEFAULT_SOURCE
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bhctl.h"

#define MAX_FILES 32          /* backing files kept open; the least recently used is closed */
#define SECTOR 512
#define MAX_DISK (1ull << 62) /* a size beyond any off_t arithmetic trouble */
#define POLL_MS 1000          /* how often a pending signal is noticed at the latest */

/* One open backing file. */
struct blk_file {
	char path[BHC_BLK_PATH_MAX];
	int fd;            /* -1: the entry is free */
	bool regular;      /* a regular file (extended when short), else a block device */
	uint64_t size;     /* bytes the file or device has */
	uint32_t vm, slot; /* the disk that used it last (for messages) */
	uint64_t used;     /* least-recently-used stamp */
};

struct blkd {
	struct chan *ch;
	bool verbose;
	struct blk_file files[MAX_FILES];
	uint64_t clock;
	uint64_t served, refused;
	char last_err[320]; /* the last error line, for "repeated N times" */
	unsigned repeats;
	uint8_t data[BHC_BLK_MAX_DATA];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void flush_repeats(struct blkd *d)
{
	if (d->repeats)
		fprintf(stderr, "bhctl blkd: (the last error repeated %u more times)\n",
			d->repeats);
	d->repeats = 0;
	d->last_err[0] = 0;
}

/* One line per error; the same line again is counted, not printed (a guest retries). */
static void __attribute__((format(printf, 2, 3))) blk_error(struct blkd *d, const char *fmt, ...)
{
	char msg[sizeof(d->last_err)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!strcmp(msg, d->last_err)) {
		d->repeats++;
		return;
	}
	flush_repeats(d);
	fprintf(stderr, "bhctl blkd: %s\n", msg);
	snprintf(d->last_err, sizeof(d->last_err), "%s", msg);
}

/* "64 MiB", "3 KiB" or "1000 bytes". */
static void size_text(char *buf, size_t cap, uint64_t bytes)
{
	if (bytes && bytes % (1 << 20) == 0)
		snprintf(buf, cap, "%llu MiB", (unsigned long long)(bytes >> 20));
	else if (bytes && bytes % 1024 == 0)
		snprintf(buf, cap, "%llu KiB", (unsigned long long)(bytes >> 10));
	else
		snprintf(buf, cap, "%llu bytes", (unsigned long long)bytes);
}

static const char *const op_names[] = { "read", "write", "flush" };

/* Checks a request against the protocol's limits and itself (plen: its payload's size).
 * Returns NULL, or why it is refused (with -EINVAL). */
static const char *check_req(const struct bhc_blk_req *r, uint32_t plen, char *why, size_t cap)
{
	if (!memchr(r->path, 0, sizeof(r->path)))
		return "the path is not NUL-terminated";
	if (!r->path[0])
		return "no path";
	if (r->path[0] != '/')
		return "the path is not absolute";
	if (r->op > BHC_BLK_FLUSH) {
		snprintf(why, cap, "unknown operation %u", r->op);
		return why;
	}
	if (r->len > BHC_BLK_MAX_DATA) {
		snprintf(why, cap, "%u bytes of data, more than %u", r->len, BHC_BLK_MAX_DATA);
		return why;
	}
	if (r->op == BHC_BLK_FLUSH && r->len)
		return "a flush with data";
	if (plen != sizeof(*r) + (r->op == BHC_BLK_WRITE ? r->len : 0)) {
		snprintf(why, cap, "a %s of %u bytes in a message of %u bytes", op_names[r->op],
			 r->len, plen);
		return why;
	}
	if (!r->size || r->size > MAX_DISK) {
		snprintf(why, cap, "a disk of 0x%llx bytes", (unsigned long long)r->size);
		return why;
	}
	if (r->op == BHC_BLK_FLUSH)
		return NULL;
	if (r->offset % SECTOR) {
		snprintf(why, cap, "offset 0x%llx is not a multiple of %d",
			 (unsigned long long)r->offset, SECTOR);
		return why;
	}
	if (r->offset > r->size || r->len > r->size - r->offset) {
		snprintf(why, cap, "%s of %u bytes at 0x%llx, beyond the disk's 0x%llx bytes",
			 op_names[r->op], r->len, (unsigned long long)r->offset,
			 (unsigned long long)r->size);
		return why;
	}
	return NULL;
}

/* Opens path for reading and writing, creating a regular file if there is none. */
static int open_backing(const char *path, bool *created)
{
	*created = false;
	for (int tries = 0; tries < 3; tries++) {
		int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);

		if (fd >= 0 || errno != ENOENT)
			return fd;
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_CREAT | O_EXCL, 0600);
		if (fd >= 0 || errno != EEXIST) {
			*created = fd >= 0;
			return fd;
		}
	}
	return -1;
}

/* Makes f at least size bytes: a regular file is extended (zeros, sparse), a block device
 * must be large enough. Returns 0 or -errno. */
static int fit_size(struct blkd *d, struct blk_file *f, uint64_t size, const char *who,
		    bool quiet)
{
	char want[32], have[32];

	if (f->size >= size)
		return 0;
	size_text(want, sizeof(want), size);
	size_text(have, sizeof(have), f->size);
	if (!f->regular) {
		blk_error(d, "%s: %s is %s, smaller than the disk (%s)", who, f->path, have, want);
		return -EINVAL;
	}
	if (ftruncate(f->fd, (off_t)size)) {
		int e = errno;

		blk_error(d, "%s: %s: cannot extend it to %s: %s", who, f->path, want, strerror(e));
		return -e;
	}
	if (!quiet)
		printf("bhctl blkd: %s: %s extended from %s to %s\n", who, f->path, have, want);
	f->size = size;
	return 0;
}

static int sync_file(struct blk_file *f)
{
	int rc = 0;

	if (fsync(f->fd) && errno != EINVAL) { /* EINVAL: a file that cannot be synced */
		fprintf(stderr, "bhctl blkd: %s: fsync: %s\n", f->path, strerror(errno));
		rc = -1;
	}
	close(f->fd);
	f->fd = -1;
	return rc;
}

/* The open file for r's path: from the cache, or opened (created, extended) now. Returns NULL
 * with *err = -errno if it cannot serve the request. */
static struct blk_file *get_file(struct blkd *d, const struct bhc_blk_req *r, const char *who,
				 int *err)
{
	struct blk_file *f = NULL, *lru = &d->files[0];
	char sz[32];
	bool created;
	struct stat st;
	int fd;

	for (int i = 0; i < MAX_FILES; i++) {
		struct blk_file *g = &d->files[i];

		if (g->fd >= 0 && !strcmp(g->path, r->path)) {
			f = g;
			break;
		}
		if (g->fd < 0 ? lru->fd >= 0 : lru->fd >= 0 && g->used < lru->used)
			lru = g;
	}
	if (f) {
		f->used = ++d->clock;
		if (f->vm != r->vm || f->slot != r->slot) {
			size_text(sz, sizeof(sz), r->size);
			printf("bhctl blkd: %s: %s (%s), open already\n", who, f->path, sz);
			f->vm = r->vm;
			f->slot = r->slot;
		}
		*err = fit_size(d, f, r->size, who, false);
		return *err ? NULL : f;
	}

	fd = open_backing(r->path, &created);
	if (fd < 0) {
		*err = -errno;
		blk_error(d, "%s: cannot open %s: %s", who, r->path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		blk_error(d, "%s: %s is not a regular file or a block device", who, r->path);
		close(fd);
		*err = -EINVAL;
		return NULL;
	}
	if (lru->fd >= 0 && sync_file(lru))
		blk_error(d, "%s: syncing %s before closing it failed", who, lru->path);
	f = lru;
	snprintf(f->path, sizeof(f->path), "%s", r->path);
	f->fd = fd;
	f->regular = S_ISREG(st.st_mode);
	f->size = (uint64_t)st.st_size;
	if (!f->regular) {
		off_t end = lseek(fd, 0, SEEK_END);

		f->size = end > 0 ? (uint64_t)end : 0;
	}
	f->vm = r->vm;
	f->slot = r->slot;
	f->used = ++d->clock;
	size_text(sz, sizeof(sz), r->size);
	printf("bhctl blkd: %s: %s (%s)%s\n", who, f->path, sz, created ? ", created" : "");
	flush_repeats(d); /* a success ends a run of the same error */
	*err = fit_size(d, f, r->size, who, created); /* "created" says it all */
	if (*err) {
		close(f->fd);
		f->fd = -1;
		return NULL;
	}
	return f;
}

/* Full reads and writes: the kernel may do less than asked. A read past the end of a file
 * that shrank under us gives zeros. */
static int read_full(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			memset(buf, 0, len);
			return 0;
		}
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int write_full(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int answer(struct blkd *d, uint32_t seq, uint64_t tag, int32_t status, uint32_t len)
{
	struct bhc_blk_done done = { .tag = tag, .status = status, .len = len };

	if (status)
		d->refused++;
	else
		d->served++;
	return chan_send(d->ch, BHC_BLK_DONE, seq, &done, sizeof(done), d->data, len);
}

/* Serves one request. Returns 0, or an exit code if the port broke. */
static int serve(struct blkd *d, const struct bhc_msg *m)
{
	struct bhc_blk_req r;
	struct blk_file *f;
	const char *bad;
	char who[48], why[128];
	int status = 0;
	uint32_t out = 0;

	if (m->h.type != BHC_BLK_REQ) {
		blk_error(d, "ignored a message of type 0x%x (%u bytes): not a request", m->h.type,
			  m->h.len);
		return 0;
	}
	if (m->h.len < sizeof(r)) {
		blk_error(d, "a request of %u bytes, shorter than its %zu-byte record", m->h.len,
			  sizeof(r));
		if (m->h.len < offsetof(struct bhc_blk_req, tag) + sizeof(r.tag))
			return 0; /* no tag to answer to */
		memcpy(&r.tag, m->data + offsetof(struct bhc_blk_req, tag), sizeof(r.tag));
		return answer(d, m->h.seq, r.tag, -EINVAL, 0);
	}
	memcpy(&r, m->data, sizeof(r));
	snprintf(who, sizeof(who), "vm %u slot %u", r.vm, r.slot);
	bad = check_req(&r, m->h.len, why, sizeof(why));
	if (bad) {
		blk_error(d, "%s: request refused: %s", who, bad);
		return answer(d, m->h.seq, r.tag, -EINVAL, 0);
	}
	f = get_file(d, &r, who, &status);
	if (f && r.op == BHC_BLK_READ) {
		status = read_full(f->fd, d->data, r.len, r.offset);
		out = status ? 0 : r.len;
	} else if (f && r.op == BHC_BLK_WRITE) {
		status = write_full(f->fd, m->data + sizeof(r), r.len, r.offset);
	} else if (f && fdatasync(f->fd)) {
		status = -errno;
	}
	if (f && status)
		blk_error(d, "%s: %s: %s of %u bytes at 0x%llx: %s", who, f->path,
			  op_names[r.op], r.len, (unsigned long long)r.offset, strerror(-status));
	if (d->verbose)
		printf("bhctl blkd: %s: %s %u bytes at 0x%llx: %d\n", who, op_names[r.op], r.len,
		       (unsigned long long)r.offset, status);
	return answer(d, m->h.seq, r.tag, status, out);
}

static int sync_all(struct blkd *d)
{
	int rc = 0, n = 0;

	for (int i = 0; i < MAX_FILES; i++) {
		if (d->files[i].fd < 0)
			continue;
		rc |= sync_file(&d->files[i]);
		n++;
	}
	printf("bhctl blkd: %d file%s synced and closed\n", n, n == 1 ? "" : "s");
	return rc;
}

static int parse_args(struct ctx *c, int argc, char **argv, bool *daemon, bool *verbose,
		      const char **log)
{
	const struct command *cmd = find_command("blkd");

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-d") || !strcmp(a, "--daemon")) {
			*daemon = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			*verbose = true;
		} else if (!strcmp(a, "-l") || !strcmp(a, "--log")) {
			if (++i >= argc)
				return usage_error(cmd, "%s needs a file", a);
			*log = argv[i];
		} else if (!strcmp(a, "--device")) {
			if (++i >= argc)
				return usage_error(cmd, "--device needs a path");
			c->device = argv[i];
			c->device_cli = true;
		} else if (a[0] == '-') {
			return usage_error(cmd, "unknown option '%s'", a);
		} else {
			return usage_error(cmd, "unexpected argument '%s'", a);
		}
	}
	return 0;
}

/* Detaches into the background: the parent prints the child's pid and returns 1; the child
 * returns 0. -1 if fork failed. */
static int detach(void)
{
	pid_t pid;
	int null;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "bhctl blkd: cannot run in the background: %s\n", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		printf("bhctl blkd: running in the background, pid %d\n", (int)pid);
		return 1;
	}
	setsid();
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		close(null);
	}
	return 0;
}

int cmd_blkd(struct ctx *c, int argc, char **argv)
{
	bool daemon = false, verbose = false;
	const char *log = NULL;
	struct sigaction sa;
	struct blkd *d;
	int rc, logfd = -1;

	if (!c->device_cli)
		c->device = NULL; /* $BHCTL_DEVICE is the control channel, not this port */
	if ((rc = parse_args(c, argc, argv, &daemon, &verbose, &log)))
		return rc;
	if (log) {
		logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (logfd < 0) {
			fprintf(stderr, "bhctl blkd: cannot open the log %s: %s\n", log,
				strerror(errno));
			return EXIT_FAIL;
		}
	}
	c->port = BHC_BLK_PORT_NAME;
	c->port_what = "mediated-disk port";
	if ((rc = chan_open(c))) {
		if (logfd >= 0)
			close(logfd);
		return rc;
	}
	c->ch.resync = true; /* the daemon outlives a broken message */
	if (daemon && (rc = detach())) {
		if (logfd >= 0)
			close(logfd);
		return rc < 0 ? EXIT_FAIL : EXIT_OK;
	}
	if (logfd >= 0) {
		dup2(logfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		close(logfd);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	d = calloc(1, sizeof(*d));
	if (!d) {
		fprintf(stderr, "bhctl blkd: out of memory\n");
		return EXIT_FAIL;
	}
	d->ch = &c->ch;
	d->verbose = verbose;
	for (int i = 0; i < MAX_FILES; i++)
		d->files[i].fd = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: the wait returns, blkd syncs and ends */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("bhctl blkd: serving mediated disks on %s (pid %d)\n", c->ch.path, (int)getpid());

	rc = 0;
	while (!stop_signal && !rc) {
		struct bhc_msg m;
		int r = chan_recv(&c->ch, &m, POLL_MS);

		if (r == 1 || r == 2)
			continue; /* a timeout or a signal: look at stop_signal */
		if (r) {
			rc = EXIT_CHAN;
			break;
		}
		rc = serve(d, &m);
		free(m.data);
	}
	flush_repeats(d);
	if (stop_signal)
		printf("bhctl blkd: stopping (%s): %llu requests served, %llu refused or failed\n",
		       stop_signal == SIGTERM ? "SIGTERM" : "SIGINT",
		       (unsigned long long)d->served, (unsigned long long)d->refused);
	if (sync_all(d) && !rc)
		rc = EXIT_FAIL;
	free(d);
	return rc;
}
