/* The control service's transport: each VM with a virtio-console gets a "bulkhead.ctl" port;
 * bytes written there are reassembled into messages (docs/control.md), checked, and served
 * one at a time under one lock if the VM is the management VM, refused and counted if not.
 * Replies and console events go back as whole messages, never interleaved. */
#include <bulkhead/arch.h>
#include <bulkhead/blk_mediated.h>
#include <bulkhead/console.h>
#include <bulkhead/ctl.h>
#include <bulkhead/log.h>
#include <bulkhead/palloc.h>
#include <bulkhead/spinlock.h>
#include <bulkhead/string.h>
#include <bulkhead/virtio_console.h>
#include <bulkhead/vm.h>

#include "ctl_internal.h"

#define HDR_LEN ((u32)sizeof(struct bhc_hdr))
#define CTL_BUF (HDR_LEN + BHC_MAX_PAYLOAD)

struct ctl_port {
	struct vm *vm;
	struct vcon_port *port;
	paddr_t pa;  /* where this structure was allocated */
	u64 pages;
	u32 have;    /* bytes of buf holding (the start of) the next messages */
	u8 buf[CTL_BUF];
};

#define PORT_PAGES (ALIGN_UP(sizeof(struct ctl_port), PAGE_SIZE) / PAGE_SIZE)

static spinlock_t ctl_lock = SPINLOCK_INIT;  /* one request at a time, system-wide */
static spinlock_t send_lock = SPINLOCK_INIT; /* one message at a time onto a port */
static struct ctl_port *console_to;          /* where a VM's console goes (bhctl console) */
static u32 console_vm = ~0u;                 /* ... and which VM's */
static u64 console_dropped;                  /* console bytes dropped: the port was full */

static u8 out_buf[CTL_OUT_MAX];
static char msg_buf[CTL_MSG_MAX];
static u8 reply_buf[HDR_LEN + sizeof(struct bhc_status) + CTL_OUT_MAX + CTL_MSG_MAX];
static u8 event_buf[HDR_LEN + sizeof(struct bhc_vm_ref) + 4096 + 1];

/* Sends one whole message, or nothing if the port has no room for all of it (the guest is
 * not reading): a half message would desynchronize the stream. */
static bool send(struct ctl_port *p, const void *msg, u32 len)
{
	bool ok;

	spin_lock(&send_lock);
	ok = vcon_port_room(p->port) >= len && vcon_port_write(p->port, msg, len) == len;
	spin_unlock(&send_lock);
	return ok;
}

static void reply(struct ctl_port *p, const struct bhc_hdr *req, int status, const void *data,
		  u32 len)
{
	struct bhc_hdr h = { BHC_MAGIC, BHC_VERSION, (u16)(req->type | BHC_REPLY), req->seq,
			     (u32)sizeof(struct bhc_status) + len };
	struct bhc_status st = { status, 0 };

	memcpy(reply_buf, &h, HDR_LEN);
	memcpy(reply_buf + HDR_LEN, &st, sizeof(st));
	memcpy(reply_buf + HDR_LEN + sizeof(st), data, len);
	if (!send(p, reply_buf, HDR_LEN + h.len))
		vm_report_vm(p->vm, "control reply dropped: the control port is full");
}

int ctl_fail(struct ctl_req *r, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, CTL_MSG_MAX, fmt, ap);
	va_end(ap);
	return status;
}

struct vm *ctl_ref_vm(struct ctl_req *r)
{
	struct bhc_vm_ref ref;
	struct vm *vm;

	memcpy(&ref, r->data, sizeof(ref));
	if (ctl_pending_is(ref.id)) {
		struct bhc_vm_info info;

		ctl_pending_info(&info);
		r->ref_status = ctl_fail(r, BHC_ESTATE, "VM %u '%s' is loading: it can be loaded, "
					 "started or destroyed", ref.id, info.name);
		return NULL;
	}
	vm = vm_get(ref.id);
	if (!vm || vm->state == VM_DYING) {
		r->ref_status = ctl_fail(r, BHC_ENOENT, "no VM with id %u", ref.id);
		return NULL;
	}
	return vm;
}

/* The operations: payload sizes allowed (min, max) and the handler. */
static const struct {
	u32 min, max;
	ctl_op_fn fn;
} ops[] = {
	[BHC_HELLO] = { 0, 0, ctl_hello },
	[BHC_LIST] = { 0, 0, ctl_list },
	[BHC_STATS] = { sizeof(struct bhc_vm_ref), sizeof(struct bhc_vm_ref), ctl_stats },
	[BHC_CREATE] = { sizeof(struct bhc_create), BHC_MAX_PAYLOAD, ctl_create },
	[BHC_LOAD] = { sizeof(struct bhc_load), BHC_MAX_PAYLOAD, ctl_load },
	[BHC_START] = { sizeof(struct bhc_vm_ref), sizeof(struct bhc_vm_ref), ctl_start },
	[BHC_STOP] = { sizeof(struct bhc_vm_ref), sizeof(struct bhc_vm_ref), ctl_stop },
	[BHC_REBOOT] = { sizeof(struct bhc_vm_ref), sizeof(struct bhc_vm_ref), ctl_reboot },
	[BHC_PAUSE] = { sizeof(struct bhc_vm_ref), sizeof(struct bhc_vm_ref), ctl_pause },
	[BHC_UNPAUSE] = { sizeof(struct bhc_vm_ref), sizeof(struct bhc_vm_ref), ctl_unpause },
	[BHC_DESTROY] = { sizeof(struct bhc_vm_ref), sizeof(struct bhc_vm_ref), ctl_destroy },
	[BHC_CONSOLE_ATTACH] = { sizeof(struct bhc_vm_ref), sizeof(struct bhc_vm_ref),
				 ctl_console_attach },
	[BHC_CONSOLE_INPUT] = { sizeof(struct bhc_vm_ref), sizeof(struct bhc_vm_ref) + 4096,
				ctl_console_input },
	[BHC_CONSOLE_DETACH] = { 0, 0, ctl_console_detach },
	[BHC_NET_STATS] = { sizeof(struct bhc_vm_ref), sizeof(struct bhc_vm_ref), ctl_net_stats },
	[BHC_BLK_STATS] = { sizeof(struct bhc_vm_ref), sizeof(struct bhc_vm_ref), ctl_blk_stats },
};

/* Serves one complete message (control lock held). */
static void serve(struct ctl_port *p, const struct bhc_hdr *h, const u8 *payload)
{
	struct ctl_req r = { p->vm, h, payload, h->len, out_buf, 0, msg_buf, BHC_OK };
	int status;

	msg_buf[0] = '\0';
	if (!p->vm->cfg.management) {
		__atomic_fetch_add(&p->vm->ctl_refused, 1, __ATOMIC_RELAXED);
		vm_report_vm(p->vm, "control request %u refused: only the management VM may "
			     "control the hypervisor", h->type);
		status = ctl_fail(&r, BHC_EPERM, "VM '%s' is not the management VM", p->vm->name);
	} else if (h->type >= ARRAY_SIZE(ops) || !ops[h->type].fn) {
		status = ctl_fail(&r, BHC_ETYPE, "unknown operation %u", h->type);
	} else if (h->len < ops[h->type].min || h->len > ops[h->type].max) {
		status = ctl_fail(&r, BHC_EPROTO, "operation %u: payload of %u bytes (%u..%u)",
				  h->type, h->len, ops[h->type].min, ops[h->type].max);
	} else {
		status = ops[h->type].fn(&r);
	}
	if (status == BHC_OK)
		reply(p, h, status, out_buf, r.out_len);
	else
		reply(p, h, status, msg_buf, (u32)strlen(msg_buf) + 1);
}

/* Serves the complete messages at the start of p->buf and keeps the rest. False if the
 * stream is broken (bad header): the caller drops what is left of the write. */
static bool consume(struct ctl_port *p)
{
	u32 at = 0;
	bool ok = true;

	while (p->have - at >= HDR_LEN) {
		struct bhc_hdr h;

		memcpy(&h, p->buf + at, HDR_LEN);
		if (h.magic != BHC_MAGIC || h.version != BHC_VERSION || h.len > BHC_MAX_PAYLOAD) {
			struct ctl_req r = { p->vm, &h, NULL, 0, out_buf, 0, msg_buf, BHC_OK };

			ctl_fail(&r, BHC_EPROTO, "bad message header (magic 0x%x, version %u, "
				 "length %u; this is protocol version %u)", h.magic, h.version,
				 h.len, BHC_VERSION);
			reply(p, &h, BHC_EPROTO, msg_buf, (u32)strlen(msg_buf) + 1);
			p->have = 0;
			return false;
		}
		if (p->have - at < HDR_LEN + h.len)
			break;
		serve(p, &h, p->buf + at + HDR_LEN);
		at += HDR_LEN + h.len;
	}
	if (at) {
		memmove(p->buf, p->buf + at, p->have - at);
		p->have -= at;
	}
	return ok;
}

static void port_rx(void *ctx, const u8 *data, u32 len)
{
	struct ctl_port *p = ctx;

	spin_lock(&ctl_lock);
	while (len) {
		u32 n = MIN(len, CTL_BUF - p->have);

		memcpy(p->buf + p->have, data, n);
		p->have += n;
		data += n;
		len -= n;
		if (!consume(p))
			break;
	}
	spin_unlock(&ctl_lock);
}

static void port_opened(void *ctx, bool open)
{
	struct ctl_port *p = ctx;

	spin_lock(&ctl_lock);
	p->have = 0; /* a new opener starts a new stream */
	if (!open && console_to == p)
		ctl_console_detach_all();
	if (!open && p->vm->cfg.management)
		ctl_pending_cancel("the control channel was closed");
	spin_unlock(&ctl_lock);
}

static const struct vcon_port_ops port_ops = { port_rx, port_opened };

void ctl_vm_created(struct vm *vm)
{
	paddr_t pa = vm_alloc_pages(vm, PORT_PAGES, PAGE_SIZE);
	struct ctl_port *p = pa ? arch_phys_to_virt(pa) : NULL;

	if (!p)
		return;
	p->vm = vm;
	p->pa = pa;
	p->pages = PORT_PAGES;
	p->have = 0;
	p->port = vcon_add_port(vm, BHC_PORT_NAME, &port_ops, p);
	if (!p->port) {
		vm_free_pages(vm, pa, PORT_PAGES);
		return;
	}
	vm->ctl = p;
	if (vm->cfg.management)
		blk_med_port_init(vm); /* mediated disks' requests go to its daemon */
}

/* Called by vm_destroy, itself a control operation: the control lock is held already. The
 * VM's vCPUs are off their CPUs, so its own port cannot be in port_rx. */
void ctl_vm_gone(struct vm *vm)
{
	if (console_vm == vm->id || (vm->ctl && console_to == vm->ctl))
		ctl_console_detach_all();
	if (vm->ctl)
		vm_free_pages(vm, vm->ctl->pa, vm->ctl->pages);
	vm->ctl = NULL;
}

/* --- consoles (bhctl console) --- */

void ctl_console_detach_all(void)
{
	spin_lock(&send_lock);
	__atomic_store_n(&console_vm, ~0u, __ATOMIC_RELEASE);
	console_to = NULL;
	spin_unlock(&send_lock);
}

void ctl_console_output(struct vm *vm, const char *text, u32 len, bool partial)
{
	struct bhc_hdr h = { BHC_MAGIC, BHC_VERSION, BHC_EV_CONSOLE, 0, 0 };
	struct bhc_vm_ref ref = { vm->id, 0 };
	u32 n = MIN(len, 4096u);

	if (__atomic_load_n(&console_vm, __ATOMIC_ACQUIRE) != vm->id)
		return;
	spin_lock(&send_lock);
	if (console_vm == vm->id && console_to) {
		u32 at = HDR_LEN + (u32)sizeof(ref);

		memcpy(event_buf + at, text, n);
		at += n;
		if (!partial)
			event_buf[at++] = '\n';
		h.len = at - HDR_LEN;
		memcpy(event_buf, &h, HDR_LEN);
		memcpy(event_buf + HDR_LEN, &ref, sizeof(ref));
		if (vcon_port_room(console_to->port) < at ||
		    vcon_port_write(console_to->port, event_buf, at) != at)
			console_dropped += n;
	}
	spin_unlock(&send_lock);
}

int ctl_console_attach(struct ctl_req *r)
{
	struct vm *vm = ctl_ref_vm(r);

	if (!vm)
		return r->ref_status;
	if (vm == r->from)
		return ctl_fail(r, BHC_EBUSY, "'%s' is the management VM itself", vm->name);
	spin_lock(&send_lock);
	console_to = r->from->ctl;
	__atomic_store_n(&console_vm, vm->id, __ATOMIC_RELEASE);
	spin_unlock(&send_lock);
	log_line("vm '%s': console attached from the management VM", vm->name);
	return BHC_OK;
}

int ctl_console_detach(struct ctl_req *r)
{
	(void)r;
	ctl_console_detach_all();
	return BHC_OK;
}

int ctl_console_input(struct ctl_req *r)
{
	struct vm *vm = ctl_ref_vm(r);
	u32 n = r->len - (u32)sizeof(struct bhc_vm_ref), taken = 0;

	if (!vm)
		return r->ref_status;
	if (vm == r->from)
		return ctl_fail(r, BHC_EBUSY, "'%s' is the management VM itself", vm->name);
	while (taken < n && console_vm_input(vm, r->data[sizeof(struct bhc_vm_ref) + taken]))
		taken++;
	if (taken < n)
		return ctl_fail(r, BHC_EBUSY, "'%s': input buffer full, %u of %u bytes taken",
				vm->name, taken, n);
	return BHC_OK;
}
