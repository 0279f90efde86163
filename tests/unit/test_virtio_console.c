/* Tests for virtio-console (hyp/core/dev/virtio_console.c), driven like Linux's virtio_console
 * driver over a fake RAM with all ten queues: the control handshake, console output and
 * buffered input, refused control messages, broken rings, and a named port's API. */
#include <stdarg.h>
#include <stdlib.h>

#include <bulkhead/virtio_console.h>

#include "fake_driver.h"
#include "unit.h"
#include "virtio_fakes.h"

#define RAM_SIZE (1024 * 1024)
#define SLOT 2
#define INTID (32 + 16 + SLOT)
#define QN 8 /* every queue's size */
#define CTRL_RX 2
#define CTRL_TX 3

/* --- the console multiplexer, recorded --- */

static char out[8192]; /* "[tag]text|" for a line, "[tag]text~" for a partial one */
static u32 out_len;

void console_vm_output(struct vm *vm, const char *text, u32 len, bool partial)
{
	/* the device's VM is fake_vm, called "vm1" */
	CHECK(vm == (struct vm *)(void *)&fake_vm);
	out_len += (u32)snprintf(out + out_len, sizeof(out) - out_len, "[vm1]%.*s%c", (int)len,
				 text, partial ? '~' : '|');
}

/* The hypervisor's own console lines: counted with the device's reports. */
void log_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_report, sizeof(last_report), fmt, ap);
	va_end(ap);
	reports++;
}

/* --- a driver: queue qi's rings at its own pages, descriptor i's buffer at its own page --- */

struct drv {
	struct guest_ram ram;
	struct virtio_console *c;
	u16 avail[VCON_NR_QUEUES], seen[VCON_NR_QUEUES];
	u8 pbuf[VCON_MAX_PORTS][VCON_PORT_BUF]; /* named ports' rings */
};

static u64 ring(u32 qi, u32 area) /* area 0: descriptors, 1: driver, 2: device */
{
	return FD_RAM_BASE + 0x1000 * (3 * (u64)qi + area);
}

static u64 buf(u32 qi, u32 i)
{
	return FD_RAM_BASE + 0x40000 + 0x1000 * ((u64)qi * QN + i);
}

static u8 *host(struct drv *v, u64 gpa)
{
	return v->ram.host + (gpa - FD_RAM_BASE);
}

static u32 rd(struct drv *v, u64 off)
{
	u64 val = 0;

	CHECK(virtio_mmio_ops.read(&v->c->dev, off, 4, &val));
	return (u32)val;
}

static void wr(struct drv *v, u64 off, u32 val)
{
	CHECK(virtio_mmio_ops.write(&v->c->dev, off, 4, val));
}

static void desc(struct drv *v, u32 qi, u32 i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 *d = host(v, ring(qi, 0)) + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* Makes the chain at head available in queue qi (no notify). */
static void offer(struct drv *v, u32 qi, u16 head)
{
	memcpy(host(v, ring(qi, 1)) + 4 + 2 * (v->avail[qi] % QN), &head, 2);
	v->avail[qi]++;
	memcpy(host(v, ring(qi, 1)) + 2, &v->avail[qi], 2);
}

/* Posts a one-descriptor buffer of len bytes (data copied in if readable); returns its id. */
static u16 post(struct drv *v, u32 qi, const void *data, u32 len, bool writable)
{
	u16 i = v->avail[qi] % QN;

	if (data)
		memcpy(host(v, buf(qi, i)), data, len);
	desc(v, qi, i, buf(qi, i), len, writable ? VIRTQ_DESC_F_WRITE : 0, 0);
	offer(v, qi, i);
	return i;
}

static void notify(struct drv *v, u32 qi)
{
	wr(v, 0x050, qi);
}

static u16 used_idx(struct drv *v, u32 qi)
{
	u16 idx;

	memcpy(&idx, host(v, ring(qi, 2)) + 2, 2);
	return idx;
}

/* The next used element of queue qi: false if none. */
static bool take(struct drv *v, u32 qi, u32 *id, u32 *len)
{
	u8 *e;

	if (used_idx(v, qi) == v->seen[qi])
		return false;
	e = host(v, ring(qi, 2)) + 4 + 8 * (v->seen[qi]++ % QN);
	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
	return true;
}

/* A control message the device sent: event, port, value and name (PORT_NAME), from the next
 * used control receive buffer; false if none. */
static bool ctrl_in(struct drv *v, u32 *event, u32 *port, u32 *value, char *name)
{
	u32 id, len;
	u8 *b;

	if (!take(v, CTRL_RX, &id, &len))
		return false;
	CHECK(len >= 8 && len <= 64);
	b = host(v, buf(CTRL_RX, id));
	*port = b[0] | b[1] << 8 | b[2] << 16 | (u32)b[3] << 24;
	*event = b[4] | b[5] << 8;
	*value = b[6] | b[7] << 8;
	if (name) {
		memcpy(name, b + 8, len - 8);
		name[len - 8] = 0;
	}
	post(v, CTRL_RX, NULL, 64, true); /* as Linux: the buffer goes back */
	notify(v, CTRL_RX);
	return true;
}

static void expect_ctrl(struct drv *v, u32 event, u32 port, u32 value, const char *name)
{
	u32 e = 99, p = 99, val = 99;
	char n[64] = "";

	CHECK(ctrl_in(v, &e, &p, &val, n));
	CHECK_EQ(e, event);
	CHECK_EQ(p, port);
	CHECK_EQ(val, value);
	if (name)
		CHECK_STR(n, name);
}

/* Sends a control message of len bytes (8 for a well-formed one). */
static void ctrl_out_len(struct drv *v, u32 port, u16 event, u16 value, u32 len)
{
	u8 m[16] = { 0 };
	u32 id, n;

	memcpy(m, &port, 4);
	memcpy(m + 4, &event, 2);
	memcpy(m + 6, &value, 2);
	u16 head = post(v, CTRL_TX, m, len, false);
	notify(v, CTRL_TX);
	CHECK(take(v, CTRL_TX, &id, &n)); /* consumed at once, and the same buffer given back */
	CHECK_EQ(id, head);
}

static void ctrl_out(struct drv *v, u32 port, u16 event, u16 value)
{
	ctrl_out_len(v, port, event, value, 8);
}

static void drv_init(struct drv *v)
{
	v->ram.host = aligned_alloc(4096, RAM_SIZE);
	memset(v->ram.host, 0, RAM_SIZE);
	v->ram.base = FD_RAM_BASE;
	v->ram.size = RAM_SIZE;
	memset(v->avail, 0, sizeof(v->avail));
	memset(v->seen, 0, sizeof(v->seen));
	v->c = calloc(1, sizeof(*v->c));
	virtio_console_init(v->c, (struct vm *)(void *)&fake_vm, "vm1", SLOT, &v->ram);
	/* The guest's console is this device (console=hvc0), as if it wrote here last; the
	 * vcon_input_follows_output test checks the other case. */
	v->c->wrote_last = true;
	memset(line, 0, sizeof(line));
	reports = line_changes = 0;
	last_report[0] = 0;
	out_len = 0;
	out[0] = 0;
}

static void drv_free(struct drv *v)
{
	free(v->ram.host);
	free(v->c);
}

static struct vcon_port *add(struct drv *v, const char *name, const struct vcon_port_ops *ops,
			     void *ctx)
{
	for (u32 i = 1; i < VCON_MAX_PORTS; i++)
		if (!v->c->port[i].present)
			return virtio_console_add_port(v->c, name, ops, ctx, v->pbuf[i],
						       VCON_PORT_BUF, 0);
	return virtio_console_add_port(v->c, name, ops, ctx, v->pbuf[0], VCON_PORT_BUF, 0);
}

/* Linux's probe up to DRIVER_OK: MULTIPORT and VERSION_1, every queue on its rings, four
 * control receive buffers of ctrl_len bytes posted. */
static void drv_up_n(struct drv *v, u32 ctrl_len)
{
	memset(v->avail, 0, sizeof(v->avail));
	memset(v->seen, 0, sizeof(v->seen));
	memset(v->ram.host, 0, 0x40000); /* the rings */
	wr(v, 0x070, 0);
	wr(v, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(v, 0x024, 0);
	wr(v, 0x020, 1u << 1);
	wr(v, 0x024, 1);
	wr(v, 0x020, 1);
	wr(v, 0x070, 0x0b);
	CHECK_EQ(rd(v, 0x070), 0x0b);
	for (u32 qi = 0; qi < VCON_NR_QUEUES; qi++) {
		wr(v, 0x030, qi);
		wr(v, 0x038, QN);
		wr(v, 0x080, (u32)ring(qi, 0));
		wr(v, 0x090, (u32)ring(qi, 1));
		wr(v, 0x0a0, (u32)ring(qi, 2));
		wr(v, 0x044, 1);
		CHECK_EQ(rd(v, 0x044), 1);
	}
	wr(v, 0x070, 0x0f);
	for (u32 i = 0; i < 4; i++)
		post(v, CTRL_RX, NULL, ctrl_len, true);
	notify(v, CTRL_RX);
}

static void drv_up(struct drv *v)
{
	drv_up_n(v, 64);
}

/* DEVICE_READY, then PORT_READY and PORT_OPEN for port 0 (the console) as Linux does. */
static void console_up(struct drv *v)
{
	drv_up(v);
	ctrl_out(v, 0xffffffff, 0, 1); /* DEVICE_READY */
	for (u32 i = 0; i < VCON_MAX_PORTS; i++)
		if (v->c->port[i].present)
			expect_ctrl(v, 1, i, 1, NULL); /* PORT_ADD */
	ctrl_out(v, 0, 3, 1);          /* PORT_READY 0 */
	expect_ctrl(v, 4, 0, 1, NULL); /* CONSOLE_PORT 0 */
	expect_ctrl(v, 6, 0, 1, NULL); /* PORT_OPEN 0: the host side is connected */
	ctrl_out(v, 0, 6, 1);          /* the guest opens the console */
}

static void out_write(struct drv *v, u32 qi, const char *s)
{
	u32 id, n;

	post(v, qi, s, (u32)strlen(s), false);
	notify(v, qi);
	CHECK(take(v, qi, &id, &n));
	CHECK_EQ(n, 0);
}

TEST(vcon_identity_and_config)
{
	struct drv v;
	u64 val = 0;

	drv_init(&v);
	CHECK_EQ(rd(&v, 0x008), 3);
	wr(&v, 0x014, 0);
	/* MULTIPORT (no SIZE, no EMERG_WRITE), indirect descriptors, event index */
	CHECK_EQ(rd(&v, 0x010), (1u << 1) | (1u << 28) | (1u << 29));
	wr(&v, 0x014, 1);
	CHECK_EQ(rd(&v, 0x010), 1);
	CHECK(virtio_mmio_ops.read(&v.c->dev, 0x104, 4, &val));
	CHECK_EQ(val, VCON_MAX_PORTS); /* max_nr_ports */
	CHECK_EQ(rd(&v, 0x100), 0);    /* cols, rows */
	wr(&v, 0x030, VCON_NR_QUEUES - 1);
	CHECK_EQ(rd(&v, 0x034), VIRTQ_MAX_SIZE);
	wr(&v, 0x030, VCON_NR_QUEUES);
	CHECK_EQ(rd(&v, 0x034), 0);
	CHECK_EQ(v.c->dev.intid, INTID);
	drv_free(&v);
}

TEST(vcon_handshake_and_names)
{
	struct drv v;
	u32 e, p, val;

	drv_init(&v);
	CHECK(add(&v, "bulkhead.ctl", NULL, NULL));
	CHECK(add(&v, "spare", NULL, NULL));
	drv_up(&v);
	CHECK(!ctrl_in(&v, &e, &p, &val, NULL)); /* nothing before DEVICE_READY */
	ctrl_out(&v, 0xffffffff, 0, 1);
	expect_ctrl(&v, 1, 0, 1, NULL);
	expect_ctrl(&v, 1, 1, 1, NULL);
	expect_ctrl(&v, 1, 2, 1, NULL);
	CHECK(!ctrl_in(&v, &e, &p, &val, NULL));
	CHECK(line[INTID]); /* control messages raise the interrupt */
	ctrl_out(&v, 2, 3, 1); /* ports get ready in any order */
	expect_ctrl(&v, 7, 2, 1, "spare");
	expect_ctrl(&v, 6, 2, 1, NULL);
	ctrl_out(&v, 0, 3, 1);
	expect_ctrl(&v, 4, 0, 1, NULL);
	expect_ctrl(&v, 6, 0, 1, NULL);
	ctrl_out(&v, 1, 3, 1);
	expect_ctrl(&v, 7, 1, 1, "bulkhead.ctl");
	expect_ctrl(&v, 6, 1, 1, NULL);
	ctrl_out(&v, 1, 3, 1); /* said again: nothing new */
	ctrl_out(&v, 0xffffffff, 0, 1);
	CHECK(!ctrl_in(&v, &e, &p, &val, NULL));
	/* messages wait for control receive buffers: take them all, then make one owed */
	drv_up(&v); /* 4 control buffers: PORT_ADD for 3 ports leaves one */
	ctrl_out(&v, 0xffffffff, 0, 1);
	CHECK_EQ(used_idx(&v, CTRL_RX), 3);
	ctrl_out(&v, 0, 3, 1); /* CONSOLE_PORT fits, PORT_OPEN waits */
	CHECK_EQ(used_idx(&v, CTRL_RX), 4);
	post(&v, CTRL_RX, NULL, 64, true);
	notify(&v, CTRL_RX);
	CHECK_EQ(used_idx(&v, CTRL_RX), 5);
	CHECK_EQ(reports, 0);
	CHECK(!(rd(&v, 0x070) & VIRTIO_STATUS_NEEDS_RESET));
	drv_free(&v);
}

TEST(vcon_console_output_lines)
{
	struct drv v;

	drv_init(&v);
	console_up(&v);
	out_write(&v, 1, "hello\r\nwor");
	out_write(&v, 1, "ld\n# ");
	CHECK_STR(out, "[vm1]hello|[vm1]wor~[vm1]ld|[vm1]# ~");
	/* a line longer than the PL011's 160 bytes is cut, as there */
	out_len = 0;
	char longline[200];
	memset(longline, 'x', 170);
	longline[170] = 0;
	out_write(&v, 1, longline);
	CHECK_EQ(out_len, (5 + 160 + 1) + (5 + 10 + 1));
	/* output before the guest opens the port (or any at all) is shown too */
	drv_up(&v);
	out_len = 0;
	out_write(&v, 1, "early\n");
	CHECK_STR(out, "[vm1]early|");
	drv_free(&v);
}

/* The bytes of the next used receive buffer of queue qi into s (NUL-terminated). */
static u32 got(struct drv *v, u32 qi, char *s)
{
	u32 id = 0, n = 0;

	if (!take(v, qi, &id, &n))
		return 0;
	memcpy(s, host(v, buf(qi, id)), n);
	s[n] = 0;
	return n;
}

TEST(vcon_console_input_buffered)
{
	struct drv v;
	char paste[901], s[4097];
	u32 n, total = 0;

	drv_init(&v);
	drv_up(&v);
	CHECK(!vcon_console_input(v.c, 'a')); /* not open: the PL011's */
	ctrl_out(&v, 0xffffffff, 0, 1);
	ctrl_out(&v, 0, 3, 1);
	CHECK(!vcon_console_input(v.c, 'a'));
	ctrl_out(&v, 0, 6, 1);
	/* a 900-byte paste before any receive buffer: kept whole */
	for (u32 i = 0; i < 900; i++)
		paste[i] = (char)('!' + i % 90);
	paste[900] = 0;
	for (u32 i = 0; i < 900; i++)
		CHECK(vcon_console_input(v.c, (u8)paste[i]));
	wr(&v, 0x064, rd(&v, 0x060)); /* InterruptACK */
	CHECK(!line[INTID]);
	post(&v, 0, NULL, 512, true);
	post(&v, 0, NULL, 512, true);
	notify(&v, 0);
	CHECK(line[INTID]);
	char all[1024] = "";
	while ((n = got(&v, 0, s))) {
		memcpy(all + total, s, n);
		total += n;
	}
	all[total] = 0;
	CHECK_EQ(total, 900);
	CHECK_STR(all, paste);
	/* with a buffer posted, a byte goes straight through */
	post(&v, 0, NULL, 512, true);
	notify(&v, 0);
	CHECK(vcon_console_input(v.c, 'z'));
	CHECK_EQ(got(&v, 0, s), 1);
	CHECK_STR(s, "z");
	/* 4 KiB kept; beyond, bytes are dropped and that is said once */
	for (u32 i = 0; i < VCON_CONSOLE_BUF + 100; i++)
		CHECK(vcon_console_input(v.c, 'q'));
	CHECK_EQ(reports, 1);
	CHECK_STR(last_report, "vm 'vm1': virtio-console@2: input buffer full (4096 bytes): input "
			       "dropped until the guest reads");
	post(&v, 0, NULL, 4096, true);
	notify(&v, 0);
	CHECK_EQ(got(&v, 0, s), VCON_CONSOLE_BUF);
	/* the guest closes the console: input goes back to the PL011 */
	ctrl_out(&v, 0, 6, 0);
	CHECK(!vcon_console_input(v.c, 'a'));
	CHECK(!(rd(&v, 0x070) & VIRTIO_STATUS_NEEDS_RESET));
	drv_free(&v);
}

TEST(vcon_without_multiport)
{
	struct drv v;
	char s[16];

	drv_init(&v);
	wr(&v, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(&v, 0x024, 1);
	wr(&v, 0x020, 1); /* VERSION_1 only */
	wr(&v, 0x070, 0x0b);
	for (u32 qi = 0; qi < 2; qi++) {
		wr(&v, 0x030, qi);
		wr(&v, 0x038, QN);
		wr(&v, 0x080, (u32)ring(qi, 0));
		wr(&v, 0x090, (u32)ring(qi, 1));
		wr(&v, 0x0a0, (u32)ring(qi, 2));
		wr(&v, 0x044, 1);
	}
	CHECK(!vcon_console_input(v.c, 'a')); /* no DRIVER_OK yet */
	wr(&v, 0x070, 0x0f);
	post(&v, 0, NULL, 16, true);
	notify(&v, 0);
	CHECK(vcon_console_input(v.c, 'b'));
	CHECK_EQ(got(&v, 0, s), 1);
	CHECK_STR(s, "b");
	out_write(&v, 1, "single\n");
	CHECK_STR(out, "[vm1]single|");
	drv_free(&v);
}

TEST(vcon_bad_control_messages)
{
	struct drv v;
	u32 e, p, val;

	drv_init(&v);
	console_up(&v);
	ctrl_out_len(&v, 0, 6, 1, 4); /* short */
	CHECK_EQ(reports, 1);
	CHECK(strstr(last_report, "4 bytes long"));
	ctrl_out_len(&v, 0, 6, 1, 12); /* long */
	ctrl_out(&v, 0, 42, 1);        /* unknown event */
	CHECK(strstr(last_report, "event 42"));
	ctrl_out(&v, 9, 6, 1);         /* no such port */
	CHECK(strstr(last_report, "port 9"));
	ctrl_out(&v, 2, 3, 1);         /* a port that was never added */
	ctrl_out(&v, 0, 4, 1);         /* CONSOLE_PORT is the device's to send */
	CHECK_EQ(reports, 4);          /* then quiet until a reset */
	CHECK(!(rd(&v, 0x070) & VIRTIO_STATUS_NEEDS_RESET));
	CHECK(!ctrl_in(&v, &e, &p, &val, NULL));
	CHECK(vcon_console_input(v.c, 'x')); /* the console still works */
	drv_free(&v);
}

TEST(vcon_broken_rings_need_reset)
{
	struct drv v;

	drv_init(&v);
	CHECK(add(&v, "a-port-with-a-long-name", NULL, NULL));
	/* control receive buffers too short for PORT_NAME (31 bytes) */
	drv_up_n(&v, 12);
	ctrl_out(&v, 0xffffffff, 0, 1);
	CHECK_EQ(used_idx(&v, CTRL_RX), 2); /* PORT_ADD 0 and 1 fit */
	CHECK(!(rd(&v, 0x070) & VIRTIO_STATUS_NEEDS_RESET));
	ctrl_out(&v, 1, 3, 1);
	CHECK(rd(&v, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK(strstr(last_report, "queue 2"));
	CHECK(line[INTID]);
	/* after a reset: a looping transmit chain on the console */
	drv_up(&v);
	CHECK(!(rd(&v, 0x070) & VIRTIO_STATUS_NEEDS_RESET));
	desc(&v, 1, 0, buf(1, 0), 4, VIRTQ_DESC_F_NEXT, 1);
	desc(&v, 1, 1, buf(1, 1), 4, VIRTQ_DESC_F_NEXT, 0);
	offer(&v, 1, 0);
	notify(&v, 1);
	CHECK(rd(&v, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK(strstr(last_report, "loop"));
	/* a receive buffer outside RAM */
	console_up(&v);
	desc(&v, 0, 0, FD_RAM_BASE + RAM_SIZE, 16, VIRTQ_DESC_F_WRITE, 0);
	offer(&v, 0, 0);
	notify(&v, 0);
	CHECK(!(rd(&v, 0x070) & VIRTIO_STATUS_NEEDS_RESET)); /* nothing to deliver yet */
	vcon_console_input(v.c, 'x');
	CHECK(rd(&v, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK(strstr(last_report, "outside"));
	CHECK(!vcon_console_input(v.c, 'y')); /* a broken device: the PL011 takes input */
	drv_free(&v);
}

/* --- a named port's owner --- */

struct owner {
	struct drv *v;
	struct vcon_port *port;
	char log[256];      /* "o1", "o0", "r<len>" */
	u8 data[70000];
	u32 len;
	bool echo;          /* write what arrives back to the guest */
	u16 used_at_rx;     /* the transmit queue's used index during the call */
};

static void own_rx(void *ctx, const u8 *data, u32 len)
{
	struct owner *o = ctx;

	snprintf(o->log + strlen(o->log), sizeof(o->log) - strlen(o->log), "r%u ", len);
	memcpy(o->data + o->len, data, len);
	o->len += len;
	o->used_at_rx = used_idx(o->v, 5);
	if (o->echo)
		CHECK_EQ(vcon_port_write(o->port, data, len), len);
}

static void own_opened(void *ctx, bool open)
{
	struct owner *o = ctx;

	snprintf(o->log + strlen(o->log), sizeof(o->log) - strlen(o->log), "o%d ", open);
	CHECK_EQ(vcon_port_is_open(o->port), open); /* (no flapping in these tests) */
}

static const struct vcon_port_ops own_ops = { own_rx, own_opened };

TEST(vcon_named_port)
{
	static struct owner o;
	struct drv v;
	char s[4097];
	static u8 big[70000];
	u32 id, n;

	drv_init(&v);
	memset(&o, 0, sizeof(o));
	o.v = &v;
	o.port = add(&v, "ctl", &own_ops, &o);
	CHECK(o.port);
	CHECK_EQ(o.port->id, 1);
	CHECK(!vcon_port_is_open(o.port));
	/* bytes written before the guest is there wait for it */
	CHECK_EQ(vcon_port_room(o.port), VCON_PORT_BUF);
	CHECK_EQ(vcon_port_write(o.port, "early", 5), 5);
	CHECK_EQ(vcon_port_room(o.port), VCON_PORT_BUF - 5);
	console_up(&v);
	ctrl_out(&v, 1, 3, 1);
	expect_ctrl(&v, 7, 1, 1, "ctl");
	expect_ctrl(&v, 6, 1, 1, NULL);
	post(&v, 4, NULL, 4096, true);
	notify(&v, 4);
	CHECK_EQ(used_idx(&v, 4), 0); /* not open: nothing delivered (Linux would drop it) */
	ctrl_out(&v, 1, 6, 1);
	CHECK_STR(o.log, "o1 ");
	CHECK(vcon_port_is_open(o.port));
	CHECK_EQ(got(&v, 4, s), 5);
	CHECK_STR(s, "early");
	/* the guest writes: one call per buffer, the buffer is used only after it */
	o.log[0] = 0;
	post(&v, 5, "hello", 5, false);
	notify(&v, 5);
	CHECK_STR(o.log, "r5 ");
	CHECK_EQ(o.used_at_rx, 0);
	CHECK(take(&v, 5, &id, &n));
	CHECK_EQ(n, 0);
	/* a 32 KiB write, echoed back by the owner from inside its rx (no lock held) */
	for (u32 i = 0; i < 32768; i++)
		big[i] = (u8)(i * 7);
	memcpy(host(&v, buf(5, 1)), big, 32768); /* spans pages 1..8 of queue 5's buffers */
	desc(&v, 5, 1, buf(5, 1), 32768, 0, 0);
	offer(&v, 5, 1);
	o.echo = true;
	o.len = 0;
	o.log[0] = 0;
	notify(&v, 5);
	CHECK_STR(o.log, "r32768 ");
	CHECK_EQ(o.len, 32768);
	CHECK(memcmp(o.data, big, 32768) == 0);
	CHECK_EQ(vcon_port_room(o.port), VCON_PORT_BUF - 32768);
	u32 total = 0;
	for (u32 k = 0; k < 8; k++) {
		post(&v, 4, NULL, 4096, true);
		notify(&v, 4);
		n = got(&v, 4, s);
		CHECK(memcmp(s, big + total, n) == 0);
		total += n;
	}
	CHECK_EQ(total, 32768);
	CHECK_EQ(vcon_port_room(o.port), VCON_PORT_BUF);
	/* the buffer holds 64 KiB: a bigger write is cut */
	o.echo = false;
	CHECK_EQ(vcon_port_write(o.port, big, 70000), VCON_PORT_BUF);
	CHECK_EQ(vcon_port_room(o.port), 0);
	CHECK_EQ(vcon_port_write(o.port, big, 1), 0);
	vcon_port_discard(o.port);
	CHECK_EQ(vcon_port_room(o.port), VCON_PORT_BUF);
	/* close, reopen, and a device reset closes it too */
	o.log[0] = 0;
	ctrl_out(&v, 1, 6, 0);
	ctrl_out(&v, 1, 6, 1);
	wr(&v, 0x070, 0);
	CHECK_STR(o.log, "o0 o1 o0 ");
	CHECK(!vcon_port_is_open(o.port));
	CHECK_EQ(reports, 0);
	drv_free(&v);
}

TEST(vcon_add_port_rules)
{
	struct drv v;

	drv_init(&v);
	CHECK(!add(&v, "", NULL, NULL));
	CHECK(!add(&v, "has space", NULL, NULL));
	CHECK(!add(&v, "a/b", NULL, NULL));
	CHECK(!add(&v, "0123456789012345678901234567890123", NULL, NULL)); /* 34 > 31 */
	CHECK(add(&v, "one", NULL, NULL));
	CHECK(!add(&v, "one", NULL, NULL)); /* used */
	CHECK(add(&v, "Two_2.x-y", NULL, NULL));
	CHECK(add(&v, "0123456789012345678901234567890", NULL, NULL)); /* 31 */
	CHECK(!add(&v, "four", NULL, NULL)); /* 3 named ports and the console */
	/* a port nothing listens to: what the guest writes is consumed and dropped */
	console_up(&v);
	out_write(&v, 5, "dropped");
	CHECK_STR(out, "");
	drv_free(&v);
}

TEST(vcon_input_follows_output)
{
	struct drv v;

	drv_init(&v);
	drv_up(&v);
	ctrl_out(&v, 0xffffffff, 0, 1);
	ctrl_out(&v, 0, 3, 1);
	ctrl_out(&v, 0, 6, 1); /* port 0 open */
	CHECK(vcon_console_input(v.c, 'a'));
	/* the guest wrote its last output to the PL011 (console=ttyAMA0): input goes there */
	v.c->wrote_last = false;
	CHECK(!vcon_console_input(v.c, 'b'));
	drv_free(&v);
}
