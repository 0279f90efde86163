/* What the parts of the control service share: ctl.c (ports, framing, permission, replies,
 * console events), ctl_ops.c (the operations on existing VMs), ctl_create.c (creating a VM
 * from a configuration and streamed images). */
#ifndef CTL_INTERNAL_H
#define CTL_INTERNAL_H

#include <bulkhead/ctl_proto.h>
#include <bulkhead/types.h>

struct vm;

/* One request being served (the control lock held). */
struct ctl_req {
	struct vm *from;     /* the management VM */
	const struct bhc_hdr *hdr;
	const u8 *data;      /* payload, hdr->len bytes, in the hypervisor's own buffer */
	u32 len;
	u8 *out;             /* reply data buffer (after bhc_status), CTL_OUT_MAX bytes */
	u32 out_len;         /* reply data bytes */
	char *msg;           /* error message buffer, CTL_MSG_MAX bytes */
	int ref_status;      /* why ctl_ref_vm() returned NULL */
};

#define CTL_OUT_MAX 4096
#define CTL_MSG_MAX 2048

/* An operation: returns a bhc_err; on BHC_OK its data is r->out[0..out_len), else r->msg. */
typedef int (*ctl_op_fn)(struct ctl_req *r);

/* Error message helper: formats into r->msg and returns status. */
int ctl_fail(struct ctl_req *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The VM the request's leading bhc_vm_ref names (checked: exists, not dying), or NULL with
 * r->msg and r->ref_status set: BHC_ENOENT, or BHC_ESTATE for the VM being created (it is in
 * `bhctl list`, LOADING, but only LOAD, START and DESTROY apply to it). */
struct vm *ctl_ref_vm(struct ctl_req *r);

int ctl_hello(struct ctl_req *r);
int ctl_list(struct ctl_req *r);
int ctl_stats(struct ctl_req *r);
int ctl_net_stats(struct ctl_req *r);
int ctl_blk_stats(struct ctl_req *r);
int ctl_start(struct ctl_req *r);
int ctl_stop(struct ctl_req *r);
int ctl_reboot(struct ctl_req *r);
int ctl_pause(struct ctl_req *r);
int ctl_unpause(struct ctl_req *r);
int ctl_destroy(struct ctl_req *r);
int ctl_console_attach(struct ctl_req *r);
int ctl_console_input(struct ctl_req *r);
int ctl_console_detach(struct ctl_req *r);
int ctl_create(struct ctl_req *r);
int ctl_load(struct ctl_req *r);

/* ctl_create.c: the VM being created (its images arriving), if any. */
bool ctl_pending_info(struct bhc_vm_info *info);
bool ctl_pending_is(u32 id);
int ctl_pending_start(struct ctl_req *r);
void ctl_pending_cancel(const char *why);
/* ctl.c: stops forwarding a console (the VM goes, or bhctl detaches). */
void ctl_console_detach_all(void);
/* ctl_ops.c: fills a bhc_vm_info of an existing VM. */
void ctl_fill_info(const struct vm *vm, struct bhc_vm_info *info);

#endif
