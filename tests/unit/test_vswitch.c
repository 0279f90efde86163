/* Tests for the virtual switch (hyp/core/dev/vswitch.c) with fake ports: learning, flooding of
 * broadcast / multicast / unknown unicast, isolation between switches, frames dropped (and
 * counted) when a port has no receive buffer, malformed frames, and storm control (a port's
 * flooded frames limited by a token bucket on a fake counter). */
#include <bulkhead/arch.h>
#include <bulkhead/errno.h>
#include <bulkhead/vswitch.h>

#include "unit.h"

/* The counter storm control reads: 1 MHz, moved by the tests. */
static u64 fake_now = 1;

u64 arch_counter(void)
{
	return fake_now;
}

u64 arch_counter_hz(void)
{
	return 1000000;
}

/* A fake port: records what it received; `room` receive buffers left (-1: unlimited). */
struct fport {
	struct vswitch_port port;
	int room;
	u32 got;
	u8 last[VSWITCH_FRAME_MAX];
	u32 last_len;
};

static bool fdeliver(struct vswitch_port *p, const u8 *frame, u32 len)
{
	struct fport *f = (struct fport *)(void *)p; /* port is the first member */

	if (f->room == 0)
		return false;
	if (f->room > 0)
		f->room--;
	f->got++;
	memcpy(f->last, frame, len);
	f->last_len = len;
	return true;
}

static void mac_of(u8 *mac, u8 n)
{
	static const u8 base[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x00 };

	memcpy(mac, base, 6);
	mac[5] = n;
}

static void port_init(struct vswitch *sw, struct fport *f, u8 n)
{
	memset(f, 0, sizeof(*f));
	f->room = -1;
	mac_of(f->port.mac, n);
	f->port.deliver = fdeliver;
	CHECK_EQ(vswitch_attach(sw, &f->port), E_OK);
}

/* A 60-byte frame from port src's MAC to dst (6 bytes), payload byte tag. */
static u32 frame(u8 *buf, const u8 *dst, u8 src, u8 tag)
{
	memset(buf, tag, 60);
	memcpy(buf, dst, 6);
	mac_of(buf + 6, src);
	buf[12] = 0x08;
	buf[13] = 0x00;
	return 60;
}

static const u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const u8 mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };

static void reset_counts(struct fport *f, u32 n)
{
	for (u32 i = 0; i < n; i++)
		f[i].got = 0;
}

TEST(vswitch_learns_and_floods)
{
	static struct vswitch sw;
	static struct fport f[4];
	u8 buf[64], mac[6];
	u32 len;

	memset(&sw, 0, sizeof(sw));
	vswitch_init(&sw, "lan0");
	for (u8 i = 0; i < 4; i++)
		port_init(&sw, &f[i], (u8)(i + 1));

	/* unknown unicast (port 2's address, never seen): flooded to all but the sender */
	mac_of(mac, 2);
	len = frame(buf, mac, 1, 0xa1);
	CHECK_EQ(vswitch_send(&f[0].port, buf, len), 3);
	CHECK_EQ(f[0].got, 0);
	CHECK_EQ(f[1].got, 1);
	CHECK_EQ(f[2].got, 1);
	CHECK_EQ(f[3].got, 1);
	CHECK_EQ(f[1].last_len, 60);
	CHECK(memcmp(f[1].last, buf, 60) == 0);
	reset_counts(f, 4);

	/* port 2 answers port 1 (learned from the first frame): to port 1 only */
	mac_of(mac, 1);
	len = frame(buf, mac, 2, 0xb2);
	CHECK_EQ(vswitch_send(&f[1].port, buf, len), 1);
	CHECK_EQ(f[0].got, 1);
	CHECK_EQ(f[2].got + f[3].got, 0);
	CHECK_EQ(f[0].last[20], 0xb2);
	reset_counts(f, 4);

	/* and now port 1 to port 2 is known too */
	mac_of(mac, 2);
	len = frame(buf, mac, 1, 0xc3);
	CHECK_EQ(vswitch_send(&f[0].port, buf, len), 1);
	CHECK_EQ(f[1].got, 1);
	CHECK_EQ(f[2].got + f[3].got + f[0].got, 0);
	reset_counts(f, 4);

	/* broadcast and multicast: every other port, even with all addresses known */
	len = frame(buf, bcast, 3, 0xd4);
	CHECK_EQ(vswitch_send(&f[2].port, buf, len), 3);
	CHECK_EQ(f[2].got, 0);
	CHECK_EQ(f[0].got + f[1].got + f[3].got, 3);
	reset_counts(f, 4);
	len = frame(buf, mcast, 4, 0xe5);
	CHECK_EQ(vswitch_send(&f[3].port, buf, len), 3);
	CHECK_EQ(f[3].got, 0);
	reset_counts(f, 4);

	/* spoofing: port 4 sends with port 1's source address: dropped, nothing learned, and
	 * frames to port 1's address still reach port 1 only */
	mac_of(mac, 9);
	len = frame(buf, mac, 1, 0xf6);
	CHECK_EQ(vswitch_send(&f[3].port, buf, len), 0);
	CHECK_EQ(f[3].port.tx_bad, 1);
	CHECK_EQ(f[3].port.tx, 1); /* the multicast frame above only */
	CHECK_EQ(f[0].got + f[1].got + f[2].got, 0);
	mac_of(mac, 1);
	len = frame(buf, mac, 2, 0x17);
	CHECK_EQ(vswitch_send(&f[1].port, buf, len), 1);
	CHECK_EQ(f[0].got, 1);
	CHECK_EQ(f[3].got, 0);
	reset_counts(f, 4);

	/* a frame to an address behind its own port: filtered */
	mac_of(mac, 2);
	len = frame(buf, mac, 2, 0x28);
	CHECK_EQ(vswitch_send(&f[1].port, buf, len), 0);
	CHECK_EQ(f[0].got + f[1].got + f[2].got + f[3].got, 0);

	/* counters: port 2 sent 3 frames and received 4 (3 of them floods) */
	CHECK_EQ(f[1].port.tx, 3);
	CHECK_EQ(f[1].port.rx, 4);
	CHECK_EQ(f[1].port.tx_bad + f[1].port.tx_limited + f[1].port.rx_dropped, 0);
}

TEST(vswitch_switches_are_isolated)
{
	static struct vswitch a, b;
	static struct fport pa[2], pb[2];
	u8 buf[64], mac[6];
	u32 len;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	vswitch_init(&a, "lan0");
	vswitch_init(&b, "lan1");
	port_init(&a, &pa[0], 1);
	port_init(&a, &pa[1], 2);
	port_init(&b, &pb[0], 3);
	port_init(&b, &pb[1], 4);

	len = frame(buf, bcast, 1, 0x11);
	CHECK_EQ(vswitch_send(&pa[0].port, buf, len), 1);
	CHECK_EQ(pa[1].got, 1);
	CHECK_EQ(pb[0].got + pb[1].got, 0);
	/* unicast to an address that lives on the other switch: flooded on this one only */
	mac_of(mac, 3);
	len = frame(buf, mac, 4, 0x22);
	vswitch_send(&pb[1].port, buf, len); /* lan1 learns 4 */
	mac_of(mac, 4);
	len = frame(buf, mac, 1, 0x33);
	CHECK_EQ(vswitch_send(&pa[0].port, buf, len), 1);
	CHECK_EQ(pa[1].got, 2);
	CHECK_EQ(pb[1].got, 0);
	CHECK_EQ(pb[0].got, 1); /* only lan1's own flood */

	/* the registry: one switch per name */
	CHECK(vswitch_get("x0") == vswitch_get("x0"));
	CHECK(vswitch_get("x0") != vswitch_get("x1"));
}

TEST(vswitch_drops_without_rx_buffer)
{
	static struct vswitch sw;
	static struct fport f[3];
	u8 buf[64];
	u32 len;

	memset(&sw, 0, sizeof(sw));
	vswitch_init(&sw, "lan0");
	for (u8 i = 0; i < 3; i++)
		port_init(&sw, &f[i], (u8)(i + 1));
	f[1].room = 1;
	f[2].room = 0;
	len = frame(buf, bcast, 1, 0x44);
	CHECK_EQ(vswitch_send(&f[0].port, buf, len), 1);
	CHECK_EQ(f[1].got, 1);
	CHECK_EQ(f[2].got, 0);
	CHECK_EQ(vswitch_send(&f[0].port, buf, len), 0); /* port 2 has no buffer left either */
	CHECK_EQ(f[1].got, 1);
	CHECK_EQ(f[0].port.tx, 2);
	CHECK_EQ(f[1].port.rx, 1);
	CHECK_EQ(f[1].port.rx_dropped, 1);
	CHECK_EQ(f[2].port.rx, 0);
	CHECK_EQ(f[2].port.rx_dropped, 2);
	CHECK_EQ(f[0].port.rx_dropped + f[0].port.tx_bad + f[0].port.tx_limited, 0);

	/* malformed frames never reach the switch: counted as the sender's refused frames */
	CHECK_EQ(vswitch_send(&f[0].port, buf, 13), 0);
	CHECK_EQ(vswitch_send(&f[0].port, buf, VSWITCH_FRAME_MAX + 1), 0);
	CHECK_EQ(f[0].port.tx_bad, 2);
	CHECK_EQ(f[0].port.tx, 2);
	CHECK_EQ(f[1].port.rx_dropped + f[2].port.rx_dropped, 3);
}

TEST(vswitch_port_limit)
{
	static struct vswitch sw;
	static struct fport f[VSWITCH_MAX_PORTS + 1];

	memset(&sw, 0, sizeof(sw));
	vswitch_init(&sw, "full");
	for (u32 i = 0; i < VSWITCH_MAX_PORTS; i++)
		port_init(&sw, &f[i], (u8)i);
	memset(&f[VSWITCH_MAX_PORTS], 0, sizeof(f[0]));
	f[VSWITCH_MAX_PORTS].port.deliver = fdeliver;
	CHECK_EQ(vswitch_attach(&sw, &f[VSWITCH_MAX_PORTS].port), E_FULL);
}

TEST(vswitch_detach_forgets_port)
{
	static struct vswitch sw;
	static struct fport f[3];
	u8 buf[64], mac[6];
	u32 len;

	memset(&sw, 0, sizeof(sw));
	vswitch_init(&sw, "lan0");
	for (u8 i = 0; i < 3; i++)
		port_init(&sw, &f[i], (u8)(i + 1));
	/* the switch learns every port's address */
	for (u8 i = 0; i < 3; i++) {
		len = frame(buf, bcast, (u8)(i + 1), i);
		vswitch_send(&f[i].port, buf, len);
	}
	reset_counts(f, 3);
	vswitch_detach(&f[0].port); /* port 0 leaves; port 2 moves into its index */
	CHECK_EQ(sw.nr_ports, 2);
	CHECK(f[0].port.sw == NULL);
	CHECK_EQ(f[2].port.index, 0);
	/* unicast to the departed address floods to the others only; it never reaches port 0 */
	mac_of(mac, 1);
	len = frame(buf, mac, 2, 7);
	CHECK_EQ(vswitch_send(&f[1].port, buf, len), 1);
	CHECK_EQ(f[0].got, 0);
	CHECK_EQ(f[2].got, 1);
	/* the moved port's learned address still leads to it alone */
	mac_of(mac, 3);
	len = frame(buf, mac, 2, 8);
	reset_counts(f, 3);
	CHECK_EQ(vswitch_send(&f[1].port, buf, len), 1);
	CHECK_EQ(f[2].got, 1);
	CHECK_EQ(f[0].got, 0);
	/* a detached port sends nothing */
	len = frame(buf, bcast, 1, 9);
	CHECK_EQ(vswitch_send(&f[0].port, buf, len), 0);
	CHECK_EQ(sw.sending, 0);
}

TEST(vswitch_storm_control)
{
	static struct vswitch sw;
	static struct fport f[2];
	u8 buf[64] = { 0 };
	u32 i;

	memset(&sw, 0, sizeof(sw));
	memset(f, 0, sizeof(f));
	vswitch_init(&sw, "storm");
	port_init(&sw, &f[0], 1);
	port_init(&sw, &f[1], 2);
	f[0].room = f[1].room = -1;
	fake_now = 1000;
	memset(buf, 0xff, 6); /* broadcast, from port 0 */
	mac_of(buf + 6, 1);
	for (i = 0; i < 2 * VSWITCH_FLOOD_BURST; i++)
		vswitch_send(&f[0].port, buf, sizeof(buf));
	CHECK_EQ(f[1].got, VSWITCH_FLOOD_BURST); /* the burst, then nothing */
	CHECK_EQ(f[0].port.tx_limited, VSWITCH_FLOOD_BURST);
	CHECK_EQ(f[0].port.tx, 2 * VSWITCH_FLOOD_BURST);
	CHECK_EQ(f[0].port.tx_bad + f[1].port.rx_dropped, 0);

	/* unicast to a learned address is not limited */
	mac_of(buf, 1);
	mac_of(buf + 6, 2);
	for (i = 0; i < 10; i++)
		CHECK_EQ(vswitch_send(&f[1].port, buf, sizeof(buf)), 1);
	CHECK_EQ(f[0].got, 10);

	/* 10 ms later: 10 more flooded frames (1000 a second) */
	memset(buf, 0xff, 6);
	mac_of(buf + 6, 1);
	fake_now += 10000;
	for (i = 0; i < 20; i++)
		vswitch_send(&f[0].port, buf, sizeof(buf));
	CHECK_EQ(f[1].got, VSWITCH_FLOOD_BURST + 10);
	/* a long pause refills the burst, no more */
	fake_now += 10000000;
	for (i = 0; i < 2 * VSWITCH_FLOOD_BURST; i++)
		vswitch_send(&f[0].port, buf, sizeof(buf));
	CHECK_EQ(f[1].got, 2 * VSWITCH_FLOOD_BURST + 10);
}
