/* The control service's framing (hyp/core/ctl/ctl.c, compiled into this file with its outside
 * calls renamed to fakes and the operations of ctl_ops.c/ctl_create.c faked): every VM with a
 * virtio-console feeds this parser, management VM or not, so it is fuzzed here under ASan and
 * UBSan. Random streams of well-formed requests (known and unknown types, payloads of allowed
 * and refused sizes, up to BHC_MAX_PAYLOAD) cut into random writes, with bad headers and junk
 * among them, must get exactly the replies a simple model of docs/control.md predicts: one
 * whole reply per request, in order, the seq echoed; after a bad header, one EPROTO and the rest
 * of that write dropped. Plain random bytes must never crash it. */
#include <stdarg.h>
#include <stdlib.h>

#define vcon_port_room ctlf_room
#define vcon_port_write ctlf_write
#define vcon_add_port ctlf_add_port
#define vm_alloc_pages ctlf_alloc
#define vm_free_pages ctlf_free
#define arch_phys_to_virt ctlf_p2v
#define vm_get ctlf_get
#define console_vm_input ctlf_input
#define blk_med_port_init ctlf_blk_init
#define vm_report_vm ctlf_report
#define log_line ctlf_log
#include "../../hyp/core/ctl/ctl.c"
#undef vcon_port_room
#undef vcon_port_write
#undef vcon_add_port
#undef vm_alloc_pages
#undef vm_free_pages
#undef arch_phys_to_virt
#undef vm_get
#undef console_vm_input
#undef blk_med_port_init
#undef vm_report_vm
#undef log_line
#undef CHECK /* log.h's; unit.h has the tests' own */

#include "unit.h"

/* --- the outside world --- */

static u8 outq[1 << 20]; /* what the service wrote to the port: replies */
static u32 outq_len;
static u32 reports;
static int the_port;

u32 ctlf_room(struct vcon_port *p)
{
	(void)p;
	return (u32)sizeof(outq) - outq_len;
}

u32 ctlf_write(struct vcon_port *p, const void *data, u32 len)
{
	CHECK(p == (struct vcon_port *)(void *)&the_port);
	CHECK(outq_len + len <= sizeof(outq));
	memcpy(outq + outq_len, data, len);
	outq_len += len;
	return len;
}

struct vcon_port *ctlf_add_port(struct vm *vm, const char *name,
				const struct vcon_port_ops *ops, void *ctx)
{
	(void)vm;
	(void)ops;
	(void)ctx;
	CHECK_STR(name, BHC_PORT_NAME);
	return (struct vcon_port *)(void *)&the_port;
}

paddr_t ctlf_alloc(const struct vm *vm, u64 npages, u64 align)
{
	void *p = aligned_alloc(align, npages * PAGE_SIZE);

	(void)vm;
	memset(p, 0, npages * PAGE_SIZE); /* zeroed, as vm_alloc_pages promises */
	return (paddr_t)(uintptr_t)p;
}

void ctlf_free(const struct vm *vm, paddr_t pa, u64 npages)
{
	(void)vm;
	(void)npages;
	free((void *)(uintptr_t)pa);
}

void *ctlf_p2v(paddr_t pa)
{
	return (void *)(uintptr_t)pa;
}

struct vm *ctlf_get(u32 id)
{
	(void)id;
	return NULL; /* no other VM: requests naming one get ENOENT */
}

bool ctlf_input(struct vm *vm, u8 c)
{
	(void)vm;
	(void)c;
	return true;
}

void ctlf_blk_init(struct vm *vm)
{
	(void)vm;
}

void ctlf_report(struct vm *vm, const char *fmt, ...)
{
	(void)vm;
	(void)fmt;
	reports++;
}

void ctlf_log(const char *fmt, ...)
{
	(void)fmt;
}

/* --- the operations: each answers OK with its payload's length and checksum --- */

static u32 sum(const u8 *p, u32 n)
{
	u32 h = 2166136261u;

	for (u32 i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static int fake_op(struct ctl_req *r)
{
	u32 rec[2] = { r->len, sum(r->data, r->len) };

	memcpy(r->out, rec, sizeof(rec));
	r->out_len = sizeof(rec);
	return BHC_OK;
}

int ctl_hello(struct ctl_req *r) { return fake_op(r); }
int ctl_list(struct ctl_req *r) { return fake_op(r); }
int ctl_stats(struct ctl_req *r) { return fake_op(r); }
int ctl_net_stats(struct ctl_req *r) { return fake_op(r); }
int ctl_blk_stats(struct ctl_req *r) { return fake_op(r); }
int ctl_start(struct ctl_req *r) { return fake_op(r); }
int ctl_stop(struct ctl_req *r) { return fake_op(r); }
int ctl_reboot(struct ctl_req *r) { return fake_op(r); }
int ctl_pause(struct ctl_req *r) { return fake_op(r); }
int ctl_unpause(struct ctl_req *r) { return fake_op(r); }
int ctl_destroy(struct ctl_req *r) { return fake_op(r); }
int ctl_create(struct ctl_req *r) { return fake_op(r); }
int ctl_load(struct ctl_req *r) { return fake_op(r); }
bool ctl_pending_is(u32 id) { (void)id; return false; }
bool ctl_pending_info(struct bhc_vm_info *info) { (void)info; return false; }
void ctl_pending_cancel(const char *why) { (void)why; }

/* --- a model of the rules, and a stream generator --- */

static u64 rng = 0x9E3779B97F4A7C15ull;

static u32 rnd(u32 n) /* 0..n-1 */
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (u32)(rng % n);
}

struct want {
	u32 seq;
	u16 type;
	int status;
	u32 len, sum; /* OK from a faked operation: what it saw */
};

/* The status docs/control.md gives a well-formed request of the management VM. */
static int model(u16 type, u32 len, bool *faked)
{
	*faked = false;
	if (type == 0 || type >= ARRAY_SIZE(ops) || !ops[type].fn)
		return BHC_ETYPE;
	if (len < ops[type].min || len > ops[type].max)
		return BHC_EPROTO;
	if (type == BHC_CONSOLE_ATTACH || type == BHC_CONSOLE_INPUT)
		return BHC_ENOENT; /* ctlf_get finds no VM */
	if (type == BHC_CONSOLE_DETACH)
		return BHC_OK;
	*faked = true;
	return BHC_OK;
}

static u8 stream[8 << 20];
static struct want wants[8192];

/* Appends one well-formed request (a random type and size) to stream at *at. */
static void add_request(u32 *at, u32 *nw, u32 seq)
{
	static const u16 types[] = { BHC_HELLO, BHC_LIST, BHC_STATS, BHC_CREATE, BHC_LOAD,
				     BHC_START, BHC_DESTROY, BHC_CONSOLE_ATTACH, BHC_CONSOLE_INPUT,
				     BHC_CONSOLE_DETACH, BHC_NET_STATS, BHC_BLK_STATS, 0, 17, 99,
				     0x4001, 0x8003 };
	u16 type = types[rnd(ARRAY_SIZE(types))];
	u32 len;
	bool faked;

	switch (rnd(6)) {
	case 0: len = 0; break;
	case 1: len = 8; break;
	case 2: len = 7 + rnd(3); break;
	case 3: len = 160 + rnd(2000); break;
	case 4: len = rnd(5000); break;
	default: len = rnd(50) ? 16 + rnd(300) : BHC_MAX_PAYLOAD - rnd(2); break;
	}
	struct bhc_hdr h = { BHC_MAGIC, BHC_VERSION, type, seq, len };

	memcpy(stream + *at, &h, sizeof(h));
	for (u32 i = 0; i < len; i++)
		stream[*at + sizeof(h) + i] = (u8)rnd(256);
	struct want *w = &wants[(*nw)++];

	w->seq = seq;
	w->type = type;
	w->status = model(type, len, &faked);
	w->len = faked ? len : ~0u;
	w->sum = faked ? sum(stream + *at + sizeof(h), len) : 0;
	*at += (u32)sizeof(h) + len;
}

/* Checks the replies in outq against wants[0..n): whole messages, in order. */
static void check_replies(u32 n)
{
	u32 at = 0;

	for (u32 i = 0; i < n; i++) {
		struct bhc_hdr h;
		struct bhc_status st;

		CHECK(outq_len - at >= sizeof(h) + sizeof(st));
		if (outq_len - at < sizeof(h) + sizeof(st))
			return;
		memcpy(&h, outq + at, sizeof(h));
		memcpy(&st, outq + at + sizeof(h), sizeof(st));
		CHECK_EQ(h.magic, BHC_MAGIC);
		CHECK_EQ(h.version, BHC_VERSION);
		CHECK_EQ(h.seq, wants[i].seq);
		CHECK_EQ(h.type, (u16)(wants[i].type | BHC_REPLY));
		CHECK_EQ(st.status, wants[i].status);
		CHECK(h.len >= sizeof(st) && outq_len - at >= sizeof(h) + h.len);
		if (st.status == BHC_OK && wants[i].len != ~0u) {
			u32 rec[2];

			CHECK_EQ(h.len, sizeof(st) + sizeof(rec));
			memcpy(rec, outq + at + sizeof(h) + sizeof(st), sizeof(rec));
			CHECK_EQ(rec[0], wants[i].len);
			CHECK_EQ(rec[1], wants[i].sum);
		} else if (st.status != BHC_OK) {
			/* a message: NUL-terminated inside the reply */
			CHECK(h.len > sizeof(st) && outq[at + sizeof(h) + h.len - 1] == 0);
		}
		at += (u32)sizeof(h) + h.len;
	}
	CHECK_EQ(at, outq_len); /* nothing more */
}

static struct vm *mgmt_vm(bool management)
{
	static struct vm vm;

	if (vm.ctl)
		ctl_vm_gone(&vm);
	memset(&vm, 0, sizeof(vm));
	memcpy(vm.name, "m", 2);
	vm.cfg.management = management;
	ctl_vm_created(&vm);
	CHECK(vm.ctl != NULL);
	outq_len = 0;
	reports = 0;
	return &vm;
}

/* Writes stream[from..to) in random pieces (1 byte to all of it). */
static void feed(struct vm *vm, u32 from, u32 to)
{
	while (from < to) {
		u32 n = rnd(4) ? 1 + rnd(MIN(to - from, 70000u)) : 1;

		n = MIN(n, to - from);
		port_rx(vm->ctl, stream + from, n);
		from += n;
	}
}

TEST(ctl_framing_fuzz)
{
	for (u32 round = 0; round < 40; round++) {
		struct vm *vm = mgmt_vm(true);
		u32 at = 0, fed = 0, nw = 0, seq = round * 1000;

		for (u32 seg = 0; seg < 12; seg++) {
			u32 msgs = rnd(8);

			for (u32 k = 0; k < msgs; k++)
				add_request(&at, &nw, seq++);
			if (rnd(3)) {
				feed(vm, fed, at);
				fed = at;
				continue;
			}
			/* a bad header and junk: the last write holds the tail of the good
			 * requests (maybe), the bad header, and junk that is dropped */
			u32 cut = fed + (at > fed ? rnd(at - fed + 1) : 0);
			struct bhc_hdr bad = { BHC_MAGIC, BHC_VERSION, BHC_HELLO, seq, 0 };

			switch (rnd(4)) {
			case 0: bad.magic ^= 1u << rnd(32); break;
			case 1: bad.version = (u16)(2 + rnd(100)); break;
			case 2: bad.version = 0; break;
			default: bad.len = BHC_MAX_PAYLOAD + 1 + rnd(1u << 30); break;
			}
			memcpy(stream + at, &bad, sizeof(bad));
			u32 junk = rnd(3000);
			for (u32 i = 0; i < junk; i++)
				stream[at + sizeof(bad) + i] = (u8)rnd(256);
			wants[nw++] = (struct want){ seq++, BHC_HELLO, BHC_EPROTO, ~0u, 0 };
			feed(vm, fed, cut);
			port_rx(vm->ctl, stream + cut, at - cut + (u32)sizeof(bad) + junk);
			fed = at; /* the next request starts a fresh stream after the bad one */
		}
		CHECK_EQ(vm->ctl->have, 0);
		check_replies(nw);
		CHECK_EQ(reports, 0);
	}
}

/* The biggest request, whole and byte by byte; one byte more is a bad header. */
TEST(ctl_framing_max_payload)
{
	struct vm *vm = mgmt_vm(true);
	u32 at = 0, nw = 0;
	struct bhc_hdr h = { BHC_MAGIC, BHC_VERSION, BHC_LOAD, 7, BHC_MAX_PAYLOAD };

	memcpy(stream, &h, sizeof(h));
	for (u32 i = 0; i < BHC_MAX_PAYLOAD; i++)
		stream[sizeof(h) + i] = (u8)(i * 13);
	at = (u32)sizeof(h) + BHC_MAX_PAYLOAD;
	wants[nw++] = (struct want){ 7, BHC_LOAD, BHC_OK, BHC_MAX_PAYLOAD,
				     sum(stream + sizeof(h), BHC_MAX_PAYLOAD) };
	port_rx(vm->ctl, stream, at);
	for (u32 i = 0; i < at; i++)
		port_rx(vm->ctl, stream + i, 1);
	wants[nw++] = wants[0];
	h.len = BHC_MAX_PAYLOAD + 1;
	h.seq = 8;
	port_rx(vm->ctl, (const u8 *)&h, sizeof(h));
	wants[nw++] = (struct want){ 8, BHC_LOAD, BHC_EPROTO, ~0u, 0 };
	check_replies(nw);
	CHECK_EQ(vm->ctl->have, 0);
}

/* A VM that is not the management VM: the same parser, every request refused and counted. */
TEST(ctl_framing_not_management)
{
	struct vm *vm = mgmt_vm(false);
	u32 at = 0, nw = 0;

	for (u32 i = 0; i < 50; i++)
		add_request(&at, &nw, 500 + i);
	for (u32 i = 0; i < nw; i++) {
		wants[i].status = BHC_EPERM;
		wants[i].len = ~0u;
	}
	feed(vm, 0, at);
	check_replies(nw);
	CHECK_EQ(vm->ctl_refused, 50);
	CHECK_EQ(reports, 50); /* one each here: the real vm_report_vm rate-limits its lines */
}

/* Random bytes, random writes, both kinds of VM: whatever it answers is whole messages. */
TEST(ctl_framing_garbage)
{
	for (u32 round = 0; round < 200; round++) {
		struct vm *vm = mgmt_vm(round & 1);
		u32 len = rnd(20000);

		for (u32 i = 0; i < len; i++)
			stream[i] = (u8)rnd(256);
		if (rnd(2)) /* often a valid magic and version to get past the first check */
			for (u32 i = 0; i + 16 <= len; i += 16 + rnd(64)) {
				struct bhc_hdr h = { BHC_MAGIC, BHC_VERSION, (u16)rnd(20),
						     rnd(100), rnd(3) ? rnd(64) : rnd(1u << 17) };

				memcpy(stream + i, &h, sizeof(h));
			}
		feed(vm, 0, len);
		for (u32 at = 0; at < outq_len;) {
			struct bhc_hdr h;

			CHECK(outq_len - at >= sizeof(h));
			memcpy(&h, outq + at, sizeof(h));
			CHECK_EQ(h.magic, BHC_MAGIC);
			CHECK(h.type & BHC_REPLY);
			CHECK(h.len >= sizeof(struct bhc_status));
			at += (u32)sizeof(h) + h.len;
			CHECK(at <= outq_len);
		}
		CHECK(vm->ctl->have < sizeof(vm->ctl->buf));
	}
}
