/* Virtual Ethernet switches inside the hypervisor (vswitch.c): each named switch joins ports
 * (virtio-net devices, or fakes in the unit tests), learns which port each source MAC address
 * sits behind, sends a unicast frame to a known address's port only and floods broadcast,
 * multicast and unknown unicast to every other port of the same switch. */
#ifndef BULKHEAD_VSWITCH_H
#define BULKHEAD_VSWITCH_H

#include <bulkhead/config.h>
#include <bulkhead/spinlock.h>
#include <bulkhead/types.h>

#define VSWITCH_MAX 16           /* switches in the system */
#define VSWITCH_MAX_PORTS 16     /* ports per switch */
#define VSWITCH_FDB 64           /* learned addresses per switch */
#define VSWITCH_FRAME_MAX 1514   /* Ethernet frame without FCS: 14-byte header + 1500 */
#define VSWITCH_FRAME_MIN 14
/* Storm control: each port may flood (broadcast, multicast, unknown unicast) at most
 * VSWITCH_FLOOD_BURST frames at once, refilled at VSWITCH_FLOOD_RATE per second; beyond that
 * its flooded frames are dropped (and counted), so one VM cannot empty every other VM's
 * receive ring. */
#define VSWITCH_FLOOD_BURST 64
#define VSWITCH_FLOOD_RATE 1000

struct vswitch;
struct vswitch_port;

/* Hands frame (len bytes, a copy the port may not keep) to port p, without any lock of the
 * switch or of the sending port held. Returns false if p had no room (the frame is dropped). */
typedef bool (*vswitch_deliver_fn)(struct vswitch_port *p, const u8 *frame, u32 len);

struct vswitch_port {
	struct vswitch *sw;
	u32 index;                /* in sw->ports */
	u8 mac[6];                /* configured address (for reports; learning uses frames) */
	vswitch_deliver_fn deliver;
	/* counters, updated atomically: frames the port sent into the switch (tx) and frames
	 * delivered to it (rx); frames it sent that were refused (shorter than 14 or longer than
	 * 1514 bytes, or not from its address: tx_bad) or held back by storm control
	 * (tx_limited); frames on their way to it lost for want of a receive buffer (rx_dropped) */
	u64 tx, rx, tx_bad, tx_limited, rx_dropped;
	/* storm control (under the switch's lock): flooded frames it may still send, and the
	 * counter value up to which they were refilled (0: never flooded) */
	u32 flood_tokens;
	u64 flood_stamp;
};

struct vswitch_fdb {
	u8 mac[6];
	bool valid;
	u32 port;
};

struct vswitch {
	char name[CFG_NAME_MAX];
	spinlock_t lock; /* ports and the address table */
	u32 nr_ports;
	struct vswitch_port *ports[VSWITCH_MAX_PORTS];
	struct vswitch_fdb fdb[VSWITCH_FDB];
	u32 fdb_next; /* the entry replaced when the table is full (round robin) */
	u32 sending;  /* senders delivering outside the lock (vswitch_detach waits for them) */
};

/* The switch called name, created on first use; NULL if VSWITCH_MAX exist. */
struct vswitch *vswitch_get(const char *name);
/* Initializes sw (zeroed) as a switch called name (the unit tests use their own). */
void vswitch_init(struct vswitch *sw, const char *name);
/* Attaches p (mac and deliver set) to sw. E_OK, or E_FULL. */
int vswitch_attach(struct vswitch *sw, struct vswitch_port *p);
/* Takes p out of its switch (addresses learned behind it forgotten) and returns once no
 * sender can still deliver to it. Nothing if it is not attached. */
void vswitch_detach(struct vswitch_port *p);
/* Port p sends frame (len bytes; the caller holds no device lock): learns its source address
 * and delivers it. Frames shorter than 14 or longer than 1514 bytes are dropped. Returns the
 * number of ports the frame was delivered to. */
u32 vswitch_send(struct vswitch_port *p, const u8 *frame, u32 len);

#endif
