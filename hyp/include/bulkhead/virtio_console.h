/* virtio-console (virtio 1.2 §5.3, device ID 3) with MULTIPORT: port 0 is the VM's console on
 * the physical console, further named ports carry bytes to and from hypervisor code. */
#ifndef BULKHEAD_VIRTIO_CONSOLE_H
#define BULKHEAD_VIRTIO_CONSOLE_H

#include <bulkhead/types.h>
#include <bulkhead/virtio.h>
#include <bulkhead/vuart.h>

#define VIRTIO_CONSOLE_ID 3
/* Ports per device: port 0 (the console) and VCON_MAX_PORTS - 1 named ports. The driver gets
 * 2 * VCON_MAX_PORTS + 2 queues (virtio 1.2 §5.3.2). */
#define VCON_MAX_PORTS 4
#define VCON_NR_QUEUES (2 * VCON_MAX_PORTS + 2)
#define VCON_NAME_MAX 31          /* a port name's characters: a-z A-Z 0-9 . _ - */
#define VCON_CONSOLE_BUF KiB(4)   /* port 0: input waiting for the guest, as the PL011's */
#define VCON_PORT_BUF KiB(64)     /* a named port: bytes vcon_port_write queues */

_Static_assert(VCON_NR_QUEUES <= VIRTIO_MAX_QUEUES, "the transport has room for every queue");

struct vm;

/* What hypervisor code behind a named port is told (see vcon_add_port). */
struct vcon_port_ops {
	/* The guest wrote len bytes (one transmit buffer; a buffer of several descriptors makes
	 * one call per descriptor) to the port. Called from the notifying vCPU's exit WITHOUT
	 * the device lock held, so it may call vcon_port_write() on any port; data points into
	 * the guest's (already checked) RAM and is valid only during the call. It must not wait
	 * for the guest (it runs in one of its vCPUs' exits): a full port is the owner's to
	 * handle later (vcon_port_room). */
	void (*rx)(void *ctx, const u8 *data, u32 len);
	/* The guest opened (true) or closed (false) the port (VIRTIO_CONSOLE_PORT_OPEN); a device
	 * reset closes an open port. Called like rx, without the device lock, in the order the
	 * guest did it. */
	void (*opened)(void *ctx, bool open);
};

struct virtio_console;

struct vcon_port {
	struct virtio_console *con;
	u32 id;           /* 0..VCON_MAX_PORTS-1 */
	bool present;     /* port 0 always; a named port once added */
	char name[VCON_NAME_MAX + 1]; /* "" for port 0 */
	const struct vcon_port_ops *ops; /* NULL: what the guest writes is dropped (or console) */
	void *ctx;
	/* bytes for the guest: a ring of size (a power of two) bytes; head - tail are queued */
	u8 *buf;
	u32 size, head, tail;
	paddr_t buf_pa;   /* where buf was allocated (0: not from the page allocator) */
	u32 dropped;      /* console input lost to a full buffer since the guest last took some */
	/* the driver's view, cleared by a device reset */
	bool ready;       /* PORT_READY received */
	bool open;        /* the guest has it open (PORT_OPEN) */
	u32 owed;         /* control messages owed to the driver (OWE_* bits) */
	bool tx_pending;  /* the transmit queue was notified: the drainer serves it */
	u32 changes;      /* times open changed */
	u32 told;         /* of which ops->opened was told (by the drainer) */
};

struct virtio_console {
	struct virtio_dev dev;
	paddr_t pa;               /* where this structure was allocated */
	const char *tag;          /* the VM's name: its console lines' tag */
	struct vcon_port port[VCON_MAX_PORTS];
	bool draining;            /* a vCPU is calling out (rx, opened): the others leave it */
	struct vq_chain tx_chain; /* the drainer's chain (d->chain is the notify's) */
	u32 bad_ctrl;             /* control messages refused since the last reset */
	char line[VUART_LINE_MAX]; /* console output being cut into lines (within a buffer) */
	u32 line_len;
	/* The guest's console output went here last (not to its PL011): keyboard input follows
	 * it (console.c), so a Linux on console=ttyAMA0 keeps its input even once the
	 * virtio_console driver opens port 0, and one on console=hvc0 gets it there. */
	bool wrote_last;
	u8 console_buf[VCON_CONSOLE_BUF];
};

/* Sets up a zeroed c for a VM (tag: its name, kept) in slot; port 0 is the console. */
void virtio_console_init(struct virtio_console *c, struct vm *vm, const char *tag, u32 slot,
			 const struct guest_ram *ram);
/* Adds a named port with a ring buffer of size bytes (a power of two); NULL if the name is not
 * 1..VCON_NAME_MAX characters of a-z A-Z 0-9 . _ -, is already used, or every port is taken. */
struct vcon_port *virtio_console_add_port(struct virtio_console *c, const char *name,
					  const struct vcon_port_ops *ops, void *ctx, u8 *buf,
					  u32 size, paddr_t buf_pa);
/* One byte of console input for the VM: true if the virtio console took charge of it
 * (queued for port 0, or dropped and reported when its buffer is full); false if the guest
 * does not have port 0 open, or last wrote its console output to the PL011, and the byte
 * belongs to the PL011. */
bool vcon_console_input(struct virtio_console *c, u8 ch);

/* --- named ports for hypervisor code (the management VM's control channel) --- */

/* Adds a named generic port to the VM's virtio-console device; called while the VM is being
 * created, before it runs. NULL if the VM has no virtio-console, no port is left (a device has
 * VCON_MAX_PORTS - 1 named ports), the name is not valid (see virtio_console_add_port) or
 * the 64 KiB buffer cannot be allocated. */
struct vcon_port *vcon_add_port(struct vm *vm, const char *name, const struct vcon_port_ops *ops,
				void *ctx);
/* Queues bytes for the guest on port p; returns how many were accepted (0..len). Bytes are
 * kept in the port's VCON_PORT_BUF buffer, also while the guest has the port closed, and moved
 * into the guest's receive buffers while it has it open (raising the interrupt). Callable
 * from any pCPU, any context except with this device's lock held. */
u32 vcon_port_write(struct vcon_port *p, const void *data, u32 len);
/* Bytes vcon_port_write would accept now. */
u32 vcon_port_room(struct vcon_port *p);
/* Whether the guest has the port open. */
bool vcon_port_is_open(struct vcon_port *p);
/* Drops the bytes queued for the guest and not yet delivered (a new session starts clean). */
void vcon_port_discard(struct vcon_port *p);

#endif
