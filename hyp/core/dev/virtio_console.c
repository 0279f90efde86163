/* virtio-console (virtio 1.2 §5.3) with MULTIPORT: port 0 is the VM's console (its output on the
 * physical console under the VM's tag, its input from the console multiplexer), ports 1.. are
 * named ports whose bytes go to and come from hypervisor code (struct vcon_port_ops). */
#include <bulkhead/console.h>
#include <bulkhead/log.h>
#include <bulkhead/string.h>
#include <bulkhead/virtio_console.h>
#include <bulkhead/vm.h>

/* Feature bits (§5.3.3). */
#define F_MULTIPORT BIT(1)

/* Configuration layout (struct virtio_console_config): cols, rows, max_nr_ports, emerg_wr. */
#define CFG_MAX_NR_PORTS 4

/* Queues (§5.3.2): port 0's pair, the control pair, then one pair per further port. Each
 * pair is receiveq (device to driver), transmitq (driver to device). */
#define CTRL_RXQ 2
#define CTRL_TXQ 3

/* Control messages (§5.3.6.2): struct virtio_console_control, then a name for PORT_NAME. */
#define CTRL_LEN 8
#define DEVICE_READY 0
#define DEVICE_ADD 1
#define DEVICE_REMOVE 2
#define PORT_READY 3
#define CONSOLE_PORT 4
#define RESIZE 5
#define PORT_OPEN 6
#define PORT_NAME 7

/* What the device owes the driver about a port, sent in this order. */
#define OWE_ADD BIT(0)
#define OWE_CONSOLE BIT(1)
#define OWE_NAME BIT(2)
#define OWE_OPEN BIT(3)

#define BAD_CTRL_REPORTS 4 /* console lines about refused control messages, per reset */
/* Callouts one exit makes at most: a guest that keeps refilling a transmit queue from another
 * vCPU cannot keep this one in the hypervisor (and its physical CPU from others) for ever. A
 * driver that waits for each buffer, as Linux's does, never has more than a queue's worth. */
#define DRAIN_BUDGET (4 * VIRTQ_MAX_SIZE)

struct ctrl {
	u32 id;
	u16 event;
	u16 value;
};

static u32 rxq_of(u32 port)
{
	return port ? 2 + 2 * port : 0;
}

/* The port whose transmit (tx) or receive queue qi is; VCON_MAX_PORTS for the control pair. */
static u32 port_of(u32 qi)
{
	return qi < 2 ? 0 : qi < 4 ? VCON_MAX_PORTS : (qi - 2) / 2;
}

static u32 queued(const struct vcon_port *p)
{
	return p->head - p->tail;
}

/* --- bytes for the guest: the port's ring into its receive queue --- */

/* Whether the guest has port p open: by PORT_OPEN, or port 0 of a driver without MULTIPORT
 * (no control queue: the console is there once the driver is). */
static bool is_open(const struct virtio_console *c, const struct vcon_port *p)
{
	return p->open || (p->id == 0 && !(c->dev.drv_features & F_MULTIPORT) &&
			   (c->dev.status & VIRTIO_STATUS_DRIVER_OK));
}

/* Moves queued bytes into the receive buffers the driver has posted, while it has the port
 * open (Linux drops data for a closed port). Lock held. */
static void fill(struct virtio_console *c, struct vcon_port *p)
{
	struct virtio_dev *d = &c->dev;
	u32 qi = rxq_of(p->id);
	struct virtq *q = &d->q[qi];
	enum vq_pop r = VQ_EMPTY;

	if (!is_open(c, p) || !virtio_dev_serving(d, qi))
		return;
	while (queued(p) && (r = virtq_pop(q, &d->ram, &d->chain)) == VQ_CHAIN) {
		u32 off = p->tail & (p->size - 1), n = (u32)MIN(queued(p), d->chain.wr_len);
		u32 first = MIN(n, p->size - off);

		if (!n) {
			snprintf(q->err, sizeof(q->err), "receive buffer at head %u is not writable",
				 d->chain.head);
			r = VQ_BROKEN;
			break;
		}
		vq_write(&d->chain, 0, p->buf + off, first);
		vq_write(&d->chain, first, p->buf, n - first);
		p->tail += n;
		p->dropped = 0;
		virtq_push(q, d->chain.head, n);
	}
	if (r == VQ_BROKEN)
		virtio_dev_fail(d, qi, q->err);
	virtio_dev_used(d, qi);
}

/* Copies what fits of data into p's ring. Lock held. */
static u32 put(struct vcon_port *p, const u8 *data, u32 len)
{
	u32 n = MIN(len, p->size - queued(p)), off = p->head & (p->size - 1);
	u32 first = MIN(n, p->size - off);

	memcpy(p->buf + off, data, first);
	memcpy(p->buf, data + first, n - first);
	p->head += n;
	return n;
}

/* --- control messages --- */

/* Refuses a control message from the driver (ignored; a few console lines per reset). */
static void bad_ctrl(struct virtio_console *c, const char *fmt, u32 a, u32 b)
{
	char why[80];

	if (c->bad_ctrl++ >= BAD_CTRL_REPORTS)
		return;
	snprintf(why, sizeof(why), fmt, a, b);
	vm_report_vm(c->dev.vm, "virtio-console@%u: control message refused: %s", c->dev.slot,
		     why);
}

/* The next message owed to the driver into msg (returns its length), its bit in *bit and its
 * port in *port; 0 if nothing is owed. */
static u32 next_owed(struct virtio_console *c, u8 *msg, u32 *port, u32 *bit)
{
	for (u32 i = 0; i < VCON_MAX_PORTS; i++) {
		struct vcon_port *p = &c->port[i];
		struct ctrl m = { i, 0, 1 };
		u32 len = CTRL_LEN;

		if (!p->owed)
			continue;
		*port = i;
		*bit = p->owed & -p->owed; /* lowest first: ADD, CONSOLE, NAME, OPEN */
		if (*bit == OWE_ADD)
			m.event = DEVICE_ADD;
		else if (*bit == OWE_CONSOLE)
			m.event = CONSOLE_PORT;
		else if (*bit == OWE_OPEN)
			m.event = PORT_OPEN;
		else {
			m.event = PORT_NAME;
			len += (u32)strlen(p->name);
			memcpy(msg + CTRL_LEN, p->name, len - CTRL_LEN);
		}
		memcpy(msg, &m, CTRL_LEN);
		return len;
	}
	return 0;
}

/* Sends owed control messages into the driver's control receive buffers. Lock held. */
static void send_owed(struct virtio_console *c)
{
	struct virtio_dev *d = &c->dev;
	struct virtq *q = &d->q[CTRL_RXQ];
	u8 msg[CTRL_LEN + VCON_NAME_MAX];
	enum vq_pop r = VQ_EMPTY;
	u32 len, port, bit;

	if (!virtio_dev_serving(d, CTRL_RXQ))
		return;
	while ((len = next_owed(c, msg, &port, &bit)) &&
	       (r = virtq_pop(q, &d->ram, &d->chain)) == VQ_CHAIN) {
		if (d->chain.wr_len < len) {
			snprintf(q->err, sizeof(q->err),
				 "control receive buffer at head %u holds %llu bytes, a message %u",
				 d->chain.head, (unsigned long long)d->chain.wr_len, len);
			r = VQ_BROKEN;
			break;
		}
		vq_write(&d->chain, 0, msg, len);
		virtq_push(q, d->chain.head, len);
		c->port[port].owed &= ~bit;
	}
	if (r == VQ_BROKEN)
		virtio_dev_fail(d, CTRL_RXQ, q->err);
	virtio_dev_used(d, CTRL_RXQ);
}

/* The guest opened or closed port p: the drainer tells its owner; port 0's input starts
 * flowing when it opens. */
static void set_open(struct virtio_console *c, struct vcon_port *p, bool open)
{
	if (p->open == open)
		return;
	p->open = open;
	p->changes++;
	if (open)
		fill(c, p);
}

/* One message from the driver (§5.3.6.2): DEVICE_READY, PORT_READY, PORT_OPEN. Lock held. */
static void ctrl_message(struct virtio_console *c, const struct vq_chain *ch)
{
	struct ctrl m;
	struct vcon_port *p;

	if (ch->rd_len != CTRL_LEN) {
		bad_ctrl(c, "%u bytes long, not %u", (u32)MIN(ch->rd_len, 0xFFFFFFFFu), CTRL_LEN);
		return;
	}
	vq_read(ch, 0, &m, CTRL_LEN);
	if (m.event == DEVICE_READY) {
		if (m.value != 1)
			return; /* the driver failed to set up: it will not use the ports */
		for (u32 i = 0; i < VCON_MAX_PORTS; i++)
			if (c->port[i].present && !c->port[i].ready)
				c->port[i].owed |= OWE_ADD;
		return;
	}
	if (m.event != PORT_READY && m.event != PORT_OPEN) {
		bad_ctrl(c, "event %u (port %u) is not one a driver sends", m.event, m.id);
		return;
	}
	if (m.id >= VCON_MAX_PORTS || !c->port[m.id].present) {
		bad_ctrl(c, "event %u names port %u, which does not exist", m.event, m.id);
		return;
	}
	p = &c->port[m.id];
	if (m.event == PORT_READY) {
		if (m.value != 1 || p->ready)
			return; /* the driver could not set the port up, or says so again */
		p->ready = true;
		p->owed |= (p->id == 0 ? OWE_CONSOLE : OWE_NAME) | OWE_OPEN;
		return;
	}
	if (!p->ready) {
		bad_ctrl(c, "port %u opened (%u) before it was ready", m.id, m.value);
		return;
	}
	set_open(c, p, m.value != 0);
}

/* --- what the guest writes --- */

/* Console output: cut into lines as the PL011's; a partial line is shown (open, continued by
 * the VM's next output) at the end of each buffer: hvc writes a prompt in one. Lock held. */
static void console_out(struct virtio_console *c, const struct vq_chain *ch)
{
	__atomic_store_n(&c->wrote_last, true, __ATOMIC_RELAXED);
	for (u32 i = 0; i < ch->nr_segs; i++) {
		const struct vq_seg *s = &ch->seg[i];

		for (u32 k = 0; k < s->len && !s->write; k++) {
			char ch8 = (char)s->host[k];

			if (ch8 == '\r')
				continue;
			if (ch8 == '\n') {
				console_vm_output(c->dev.vm, c->line, c->line_len, false);
				c->line_len = 0;
				continue;
			}
			c->line[c->line_len++] = ch8;
			if (c->line_len == VUART_LINE_MAX) {
				console_vm_output(c->dev.vm, c->line, c->line_len, true);
				c->line_len = 0;
			}
		}
	}
	if (c->line_len) {
		console_vm_output(c->dev.vm, c->line, c->line_len, true);
		c->line_len = 0;
	}
}

/* Serves a notified queue (lock held): new receive buffers get bytes, control messages are
 * answered, console output is written; a named port's transmit queue is left to the drainer,
 * which calls its owner without the lock. */
static const char *vcon_notify(struct virtio_dev *d, u32 qi)
{
	struct virtio_console *c = container_of(d, struct virtio_console, dev);
	u32 pi = port_of(qi);
	struct virtq *q = &d->q[qi];
	enum vq_pop r;

	if (qi == CTRL_RXQ) {
		send_owed(c);
		return NULL;
	}
	if (pi < VCON_MAX_PORTS && qi == rxq_of(pi)) {
		fill(c, &c->port[pi]);
		return NULL;
	}
	if (pi != 0 && pi < VCON_MAX_PORTS && c->port[pi].ops) {
		c->port[pi].tx_pending = true;
		return NULL;
	}
	/* the control transmit queue, the console's, or a port nothing listens to */
	while ((r = virtq_pop(q, &d->ram, &d->chain)) == VQ_CHAIN) {
		/* d->chain is reused inside: a PORT_OPEN fills the port's receive buffers (fill()
		 * pops them into d->chain) when bytes wait for it, so the head is kept apart */
		u16 head = d->chain.head;

		if (qi == CTRL_TXQ)
			ctrl_message(c, &d->chain);
		else if (pi == 0)
			console_out(c, &d->chain);
		virtq_push(q, head, 0);
	}
	if (qi == CTRL_TXQ)
		send_owed(c);
	return r == VQ_BROKEN ? q->err : NULL;
}

/* The next thing to call out for (lock held), on port *port_out: an open or close to report
 * (*tell, *cb_open), or a transmit chain taken into c->tx_chain. False if nothing is left. */
static bool next_callout(struct virtio_console *c, u32 *port_out, bool *tell, bool *cb_open)
{
	struct virtio_dev *d = &c->dev;

	for (u32 i = 1; i < VCON_MAX_PORTS; i++) {
		struct vcon_port *p = &c->port[i];
		u32 qi = rxq_of(i) + 1;
		enum vq_pop r;

		*port_out = i;
		if (!p->ops) {
			p->told = p->changes;
			continue;
		}
		if (p->told != p->changes) {
			p->told++;
			*tell = true;
			/* changes alternate from closed: an odd count is open */
			*cb_open = p->told & 1;
			return true;
		}
		if (!p->tx_pending)
			continue;
		if (!virtio_dev_serving(d, qi)) {
			p->tx_pending = false;
			continue;
		}
		r = virtq_pop(&d->q[qi], &d->ram, &c->tx_chain);
		if (r == VQ_CHAIN) {
			*tell = false;
			return true;
		}
		p->tx_pending = false;
		if (r == VQ_BROKEN)
			virtio_dev_fail(d, qi, d->q[qi].err);
	}
	return false;
}

/* After a register write or reset, without the lock: one vCPU at a time calls the named ports'
 * owners, for what the guest wrote and for opens and closes, in order; each transmit buffer is
 * returned to the guest after its owner has seen it. */
static void vcon_unlocked(struct virtio_dev *d)
{
	struct virtio_console *c = container_of(d, struct virtio_console, dev);
	u32 pi, budget = DRAIN_BUDGET;
	bool tell, open;

	spin_lock(&d->lock);
	if (c->draining) {
		spin_unlock(&d->lock);
		return;
	}
	c->draining = true;
	while (budget-- && next_callout(c, &pi, &tell, &open)) {
		struct vcon_port *p = &c->port[pi];
		u32 qi = rxq_of(pi) + 1, epoch = d->epoch;

		spin_unlock(&d->lock);
		if (tell && p->ops->opened)
			p->ops->opened(p->ctx, open);
		for (u32 i = 0; !tell && i < c->tx_chain.nr_segs; i++) {
			const struct vq_seg *s = &c->tx_chain.seg[i];

			if (!s->write && s->len && p->ops->rx)
				p->ops->rx(p->ctx, s->host, s->len);
		}
		spin_lock(&d->lock);
		if (!tell && d->epoch == epoch && virtio_dev_serving(d, qi)) {
			virtq_push(&d->q[qi], c->tx_chain.head, 0);
			virtio_dev_used(d, qi);
		}
	}
	c->draining = false;
	spin_unlock(&d->lock);
}

/* A device reset: the driver's view of every port is forgotten; an open port is closed (its
 * owner is told), bytes queued for the guest stay. Lock held. */
static void vcon_reset(struct virtio_dev *d)
{
	struct virtio_console *c = container_of(d, struct virtio_console, dev);

	for (u32 i = 0; i < VCON_MAX_PORTS; i++) {
		struct vcon_port *p = &c->port[i];

		if (p->open) {
			p->open = false;
			p->changes++;
		}
		p->ready = false;
		p->owed = 0;
		p->tx_pending = false;
	}
	c->bad_ctrl = 0;
}

static const struct virtio_dev_ops vcon_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_CONSOLE_ID,
	.features = VIRTIO_F_COMMON | F_MULTIPORT,
	.nr_queues = VCON_NR_QUEUES,
	.notify = vcon_notify,
	.reset = vcon_reset,
	.unlocked = vcon_unlocked,
};

void virtio_console_init(struct virtio_console *c, struct vm *vm, const char *tag, u32 slot,
			 const struct guest_ram *ram)
{
	u32 ports = VCON_MAX_PORTS;

	virtio_dev_init(&c->dev, &vcon_ops, vm, slot, ram);
	c->tag = tag;
	memcpy(c->dev.config + CFG_MAX_NR_PORTS, &ports, 4); /* little-endian, as the guest */
	for (u32 i = 0; i < VCON_MAX_PORTS; i++) {
		c->port[i].con = c;
		c->port[i].id = i;
	}
	c->port[0].present = true;
	c->port[0].buf = c->console_buf;
	c->port[0].size = VCON_CONSOLE_BUF;
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > VCON_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

struct vcon_port *virtio_console_add_port(struct virtio_console *c, const char *name,
					  const struct vcon_port_ops *ops, void *ctx, u8 *buf,
					  u32 size, paddr_t buf_pa)
{
	struct vcon_port *p = NULL;

	if (!name_ok(name) || !size || (size & (size - 1)))
		return NULL;
	spin_lock(&c->dev.lock);
	for (u32 i = 1; i < VCON_MAX_PORTS; i++) {
		if (c->port[i].present && strcmp(c->port[i].name, name) == 0) {
			p = NULL;
			break;
		}
		if (!c->port[i].present && !p)
			p = &c->port[i];
	}
	if (p) {
		memcpy(p->name, name, strlen(name) + 1);
		p->ops = ops;
		p->ctx = ctx;
		p->buf = buf;
		p->size = size;
		p->buf_pa = buf_pa;
		p->head = p->tail = 0;
		p->present = true;
		if (c->dev.status & VIRTIO_STATUS_DRIVER_OK) { /* not at creation: announce it */
			p->owed = OWE_ADD;
			send_owed(c);
		}
	}
	spin_unlock(&c->dev.lock);
	return p;
}

u32 vcon_port_write(struct vcon_port *p, const void *data, u32 len)
{
	struct virtio_console *c = p->con;
	u32 n;

	spin_lock(&c->dev.lock);
	n = put(p, data, len);
	fill(c, p);
	spin_unlock(&c->dev.lock);
	return n;
}

u32 vcon_port_room(struct vcon_port *p)
{
	u32 room;

	spin_lock(&p->con->dev.lock);
	room = p->size - queued(p);
	spin_unlock(&p->con->dev.lock);
	return room;
}

bool vcon_port_is_open(struct vcon_port *p)
{
	return __atomic_load_n(&p->open, __ATOMIC_RELAXED);
}

void vcon_port_discard(struct vcon_port *p)
{
	spin_lock(&p->con->dev.lock);
	p->tail = p->head;
	spin_unlock(&p->con->dev.lock);
}

bool vcon_console_input(struct virtio_console *c, u8 ch)
{
	struct vcon_port *p = &c->port[0];
	bool taken, report = false;

	if (!__atomic_load_n(&c->wrote_last, __ATOMIC_RELAXED))
		return false; /* the guest's console is its PL011 */
	spin_lock(&c->dev.lock);
	taken = is_open(c, p) && virtio_dev_serving(&c->dev, 0);
	if (taken && !put(p, &ch, 1))
		report = p->dropped++ == 0; /* dropped as by the PL011; said once per burst */
	else if (taken)
		fill(c, p);
	spin_unlock(&c->dev.lock);
	if (report) /* as the PL011's: not a guest fault */
		log_line("vm '%s': virtio-console@%u: input buffer full (%u bytes): input dropped "
			 "until the guest reads", c->tag, c->dev.slot, (u32)VCON_CONSOLE_BUF);
	return taken;
}
