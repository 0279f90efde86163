/* Named generic ports of a VM's virtio-console device, for services inside the hypervisor
 * (the control channel). */
#ifndef BULKHEAD_VIRTIO_CONSOLE_H
#define BULKHEAD_VIRTIO_CONSOLE_H

#include <bulkhead/types.h>

struct vm;
struct vcon_port;

struct vcon_port_ops {
	/* The guest wrote len bytes (one transmit buffer) to the port. Called from the
	 * notifying vCPU's exit WITHOUT the device lock held, so it may call
	 * vcon_port_write() on any port; data points into the guest's (already checked)
	 * RAM and is valid only during the call. */
	void (*rx)(void *ctx, const u8 *data, u32 len);
	/* The guest opened (true) or closed (false) the port (VIRTIO_CONSOLE_PORT_OPEN). */
	void (*opened)(void *ctx, bool open);
};

struct vcon_port *vcon_add_port(struct vm *vm, const char *name, const struct vcon_port_ops *ops,
				void *ctx);
u32 vcon_port_write(struct vcon_port *p, const void *data, u32 len);
u32 vcon_port_room(struct vcon_port *p);
bool vcon_port_is_open(struct vcon_port *p);

#endif
