/* TEMPORARY until virtio-console and the power button land: weak stand-ins. */
#include <bulkhead/virtio_console.h>
#include <bulkhead/vm.h>
__attribute__((weak)) struct vcon_port *vcon_add_port(struct vm *vm, const char *name,
				const struct vcon_port_ops *ops, void *ctx)
{ (void)vm; (void)name; (void)ops; (void)ctx; return NULL; }
__attribute__((weak)) u32 vcon_port_write(struct vcon_port *p, const void *d, u32 len)
{ (void)p; (void)d; (void)len; return 0; }
__attribute__((weak)) u32 vcon_port_room(struct vcon_port *p) { (void)p; return 0; }
