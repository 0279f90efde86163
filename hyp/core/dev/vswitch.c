/* Learning Ethernet switches joining virtio-net ports (vswitch.h). The switch's lock covers its
 * ports and address table only: the destinations are chosen under it, and the frame is handed
 * to each after it is released, so the switch never holds a device's lock nor waits for one. */
#include <bulkhead/arch.h>
#include <bulkhead/errno.h>
#include <bulkhead/string.h>
#include <bulkhead/vswitch.h>

static struct vswitch switches[VSWITCH_MAX];
static u32 nr_switches;
static spinlock_t switches_lock;

void vswitch_init(struct vswitch *sw, const char *name)
{
	size_t n = strlen(name);

	if (n >= sizeof(sw->name))
		n = sizeof(sw->name) - 1;
	memcpy(sw->name, name, n);
	sw->name[n] = 0;
}

struct vswitch *vswitch_get(const char *name)
{
	struct vswitch *sw = NULL;

	spin_lock(&switches_lock);
	for (u32 i = 0; i < nr_switches && !sw; i++)
		if (strcmp(switches[i].name, name) == 0)
			sw = &switches[i];
	if (!sw && nr_switches < VSWITCH_MAX) {
		sw = &switches[nr_switches++];
		vswitch_init(sw, name);
	}
	spin_unlock(&switches_lock);
	return sw;
}

int vswitch_attach(struct vswitch *sw, struct vswitch_port *p)
{
	int r = E_FULL;

	spin_lock(&sw->lock);
	if (sw->nr_ports < VSWITCH_MAX_PORTS) {
		p->sw = sw;
		p->index = sw->nr_ports;
		sw->ports[sw->nr_ports++] = p;
		r = E_OK;
	}
	spin_unlock(&sw->lock);
	return r;
}

void vswitch_detach(struct vswitch_port *p)
{
	struct vswitch *sw = p->sw;
	u32 i = p->index, last;

	if (!sw)
		return;
	spin_lock(&sw->lock);
	last = sw->nr_ports - 1;
	sw->ports[i] = sw->ports[last];
	sw->ports[i]->index = i;
	sw->nr_ports--;
	for (u32 k = 0; k < VSWITCH_FDB; k++) {
		if (sw->fdb[k].valid && sw->fdb[k].port == i)
			sw->fdb[k].valid = false; /* forgotten: the next frame floods */
		else if (sw->fdb[k].valid && sw->fdb[k].port == last)
			sw->fdb[k].port = i;
	}
	spin_unlock(&sw->lock);
	/* Senders that chose their destinations before we took the lock may still hand frames
	 * to p: wait for them. */
	while (__atomic_load_n(&sw->sending, __ATOMIC_ACQUIRE))
		__asm__ volatile("" ::: "memory");
	p->sw = NULL;
}

static void count(u64 *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* Remembers that mac is behind port (switch lock held); group addresses are never learned. */
static void learn(struct vswitch *sw, const u8 *mac, u32 port)
{
	struct vswitch_fdb *e;

	if (mac[0] & 1)
		return;
	for (u32 i = 0; i < VSWITCH_FDB; i++) {
		e = &sw->fdb[i];
		if (e->valid && memcmp(e->mac, mac, 6) == 0) {
			e->port = port; /* the address moved, or stayed */
			return;
		}
	}
	for (u32 i = 0; i < VSWITCH_FDB; i++) {
		e = &sw->fdb[i];
		if (!e->valid) {
			memcpy(e->mac, mac, 6);
			e->port = port;
			e->valid = true;
			return;
		}
	}
	e = &sw->fdb[sw->fdb_next];
	sw->fdb_next = (sw->fdb_next + 1) % VSWITCH_FDB;
	memcpy(e->mac, mac, 6);
	e->port = port;
}

/* The port behind unicast mac, or -1 (switch lock held). */
static int lookup(const struct vswitch *sw, const u8 *mac)
{
	if (mac[0] & 1)
		return -1;
	for (u32 i = 0; i < VSWITCH_FDB; i++)
		if (sw->fdb[i].valid && memcmp(sw->fdb[i].mac, mac, 6) == 0)
			return (int)sw->fdb[i].port;
	return -1;
}

/* Storm control (switch lock held): may port p flood one more frame now? A token bucket of
 * VSWITCH_FLOOD_BURST frames refilled at VSWITCH_FLOOD_RATE a second, on the counter. */
static bool flood_allowed(struct vswitch_port *p)
{
	u64 now = arch_counter(), per = arch_counter_hz() / VSWITCH_FLOOD_RATE, add;

	if (!per)
		per = 1;
	if (!p->flood_stamp) {
		p->flood_tokens = VSWITCH_FLOOD_BURST;
		p->flood_stamp = now;
	}
	add = now > p->flood_stamp ? (now - p->flood_stamp) / per : 0;
	if (add >= VSWITCH_FLOOD_BURST - p->flood_tokens) {
		p->flood_tokens = VSWITCH_FLOOD_BURST;
		p->flood_stamp = now;
	} else if (add) {
		p->flood_tokens += (u32)add;
		p->flood_stamp += add * per;
	}
	if (!p->flood_tokens)
		return false;
	p->flood_tokens--;
	return true;
}

u32 vswitch_send(struct vswitch_port *p, const u8 *frame, u32 len)
{
	struct vswitch *sw = p->sw;
	struct vswitch_port *to[VSWITCH_MAX_PORTS];
	u32 n = 0, delivered = 0;
	int dst;

	/* A port sends only from its configured address: a VM cannot take over another's MAC
	 * in the learning table. */
	if (!sw || len < VSWITCH_FRAME_MIN || len > VSWITCH_FRAME_MAX ||
	    memcmp(frame + 6, p->mac, 6) != 0) {
		count(&p->tx_bad);
		return 0;
	}
	count(&p->tx);
	spin_lock(&sw->lock);
	learn(sw, frame + 6, p->index);
	dst = lookup(sw, frame);
	if (dst >= 0) {
		if ((u32)dst != p->index) /* to its own port: filtered, as a switch does */
			to[n++] = sw->ports[dst];
	} else if (flood_allowed(p)) {
		for (u32 i = 0; i < sw->nr_ports; i++)
			if (i != p->index)
				to[n++] = sw->ports[i];
	} else {
		count(&p->tx_limited);
	}
	__atomic_fetch_add(&sw->sending, 1, __ATOMIC_ACQ_REL);
	spin_unlock(&sw->lock);
	for (u32 i = 0; i < n; i++) {
		if (to[i]->deliver(to[i], frame, len)) {
			count(&to[i]->rx);
			delivered++;
		} else {
			count(&to[i]->rx_dropped);
		}
	}
	__atomic_fetch_sub(&sw->sending, 1, __ATOMIC_ACQ_REL);
	return delivered;
}
