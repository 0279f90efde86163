/* bhctl's shared declarations: exit codes, the control channel (framing, request/reply), the
 * configuration checker, output formatting and the command table. See docs/control.md. */
#ifndef BHCTL_H
#define BHCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <bulkhead/ctl_proto.h>

/* Exit codes (docs/control.md). */
#define EXIT_OK 0
#define EXIT_FAIL 1    /* the operation was refused or failed (or the configuration is wrong) */
#define EXIT_USAGE 2   /* bad command line */
#define EXIT_CHAN 3    /* the control channel is unavailable, in use, or broke the protocol */
#define EXIT_TIMEOUT 4 /* stop: the VM did not power off within the timeout */

#define REPLY_TIMEOUT_MS 10000 /* default wait for one reply (env BHCTL_TIMEOUT, seconds) */
#define LOAD_CHUNK 32704       /* data bytes per BHC_LOAD: a message fits one 32 KiB write */

/* One message received: header and its payload (malloc'd, len bytes). */
struct bhc_msg {
	struct bhc_hdr h;
	uint8_t *data;
};

/* The control channel (or blkd's port): the port's file descriptor and the receive stream. */
struct chan {
	int fd;
	const char *what; /* "control channel", for messages */
	char path[512];   /* the port's device */
	bool resync;      /* a bad header is reported and skipped, not fatal (blkd) */
	uint32_t seq;     /* next request's sequence number */
	int timeout_ms;   /* wait for one reply */
	uint8_t *buf;     /* bytes read but not yet parsed into messages */
	size_t len, cap;
	size_t skipped;   /* garbage bytes discarded while looking for a header */
	uint32_t console_vm; /* the VM whose console events are wanted; UINT32_MAX: none */
	void (*on_console)(const uint8_t *bytes, size_t n); /* console events while waiting */
};

/* A reply: status and payload after bhc_status (data points into msg.data). */
struct reply {
	struct bhc_msg msg;
	int32_t status;
	const uint8_t *data;
	size_t len;
};

/* Global state of one bhctl run. */
struct ctx {
	const char *prog;
	const char *device; /* --device / BHCTL_DEVICE, or NULL: find the port */
	bool device_cli;    /* device came from --device (not from the environment) */
	const char *port;   /* the port's name if not BHC_PORT_NAME (blkd) */
	const char *port_what; /* and what to call it in messages */
	struct chan ch;
	bool open;
};

/* chan.c */
int chan_open(struct ctx *c);  /* opens (once) the channel; 0 or EXIT_CHAN after a message */
void chan_close(struct ctx *c);
int chan_send(struct chan *ch, uint16_t type, uint32_t seq, const void *a, size_t alen,
	      const void *b, size_t blen);
int chan_fill(struct chan *ch); /* one read into the stream; 0, or -1 if closed */
int chan_recv(struct chan *ch, struct bhc_msg *m, int timeout_ms); /* 0, 1 timeout, -1 error */
int chan_call(struct chan *ch, uint16_t type, const void *a, size_t alen, const void *b,
	      size_t blen, struct reply *r);
void reply_free(struct reply *r);
const char *bhc_err_name(int32_t status);
const char *bhc_type_name(uint16_t type);

/* ops.c: request helpers that print the hypervisor's refusal and return an exit code. */
int op_simple(struct ctx *c, uint16_t type, const void *a, size_t alen, const void *b,
	      size_t blen, const char *what, struct reply *out);
int op_hello(struct ctx *c, struct bhc_hello *h);
int op_list(struct ctx *c, struct bhc_vm_info **vms, uint32_t *n);
int op_stats(struct ctx *c, uint32_t id, struct bhc_vm_stats *st);
/* Its switch ports' counters; none (nr_nics 0) from a hypervisor without NET_STATS. */
int op_net_stats(struct ctx *c, uint32_t id, struct bhc_net_stats *ns);
/* Its disks' counters; none (nr_disks 0) from a hypervisor without BLK_STATS. */
int op_blk_stats(struct ctx *c, uint32_t id, struct bhc_blk_stats *bs);
int resolve_vm(struct ctx *c, const char *arg, struct bhc_vm_info *out);
void report_refusal(const char *what, const struct reply *r);

/* fmt.c */
const char *state_name(uint32_t state);
const char *exit_name(unsigned i);
void fmt_duration(char *buf, size_t cap, uint64_t ns);
void fmt_size(char *buf, size_t cap, uint64_t bytes);
void fmt_pcpus(char *buf, size_t cap, const struct bhc_vm_info *vm);
void copy_name(char *dst, const char *src, size_t cap); /* printable, terminated */
uint64_t total_exits(const struct bhc_vm_info *vm);
void print_list(FILE *f, const struct bhc_vm_info *vms, uint32_t n);
void print_stats(FILE *f, const struct bhc_vm_stats *st);
void print_net_stats(FILE *f, const struct bhc_net_stats *ns);
void print_blk_stats(FILE *f, const struct bhc_blk_stats *bs);
void print_hello(FILE *f, const struct bhc_hello *h);

/* Commands: each gets argv after the command's name (argv[0] is the command). */
struct command {
	const char *name;
	int (*run)(struct ctx *c, int argc, char **argv);
	const char *args;    /* usage line after "bhctl NAME" */
	const char *summary; /* one line for bhctl --help */
	const char *help;    /* the rest of NAME --help */
};

int cmd_list(struct ctx *c, int argc, char **argv);
int cmd_info(struct ctx *c, int argc, char **argv);
int cmd_create(struct ctx *c, int argc, char **argv);
int cmd_vmop(struct ctx *c, int argc, char **argv);
int cmd_stop(struct ctx *c, int argc, char **argv);
int cmd_console(struct ctx *c, int argc, char **argv);
int cmd_stats(struct ctx *c, int argc, char **argv);
int cmd_top(struct ctx *c, int argc, char **argv);
int cmd_blkd(struct ctx *c, int argc, char **argv);
int cmd_raw(struct ctx *c, int argc, char **argv);

const struct command *find_command(const char *name);
int usage_error(const struct command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool want_help(const struct command *cmd, int argc, char **argv); /* prints it if asked */
const char *one_vm(const struct command *cmd, int argc, char **argv, int first);
bool parse_uint(const char *s, unsigned long max, unsigned long *out);

#endif
