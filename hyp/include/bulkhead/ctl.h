/* The control service (hyp/core/ctl/): serves the management VM's requests on its control port
 * (docs/control.md) and refuses, and counts, everyone else's. */
#ifndef BULKHEAD_CTL_H
#define BULKHEAD_CTL_H

#include <bulkhead/types.h>

struct vm;

/* The VM was just created: gives it a control port if it has a virtio-console. */
void ctl_vm_created(struct vm *vm);
/* The VM is being destroyed (stopped; by a control request, whose lock is held): drops its
 * port's state and any console attachment. */
void ctl_vm_gone(struct vm *vm);
/* A copy of vm's console output for a management VM attached to it (bhctl console). */
void ctl_console_output(struct vm *vm, const char *text, u32 len, bool partial);

#endif
