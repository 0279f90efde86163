/* Passed-through devices and identity-mapped RAM at boot: the checks against the machine that
 * bhpack cannot make (passthrough.c), before a VM that has them is created. */
#ifndef BULKHEAD_PASSTHROUGH_H
#define BULKHEAD_PASSTHROUGH_H

#include <bulkhead/config.h>

/* Checks cfg's identity-mapped RAM and passed-through ranges and interrupts against the
 * machine's device tree (RAM, the hypervisor's image, device tree and package, its UART and
 * GIC, the GIC's interrupt lines). Prints one line per problem ("file: vm 'x': field 'y':
 * reason") and returns false if there was any. */
bool passthrough_check_machine(const char *file, const struct cfg_vm *cfg);

#endif
