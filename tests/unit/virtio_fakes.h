/* What test_virtio.c's fakes of the transport's outside calls record (arch_vm_irq_line,
 * vm_report_vm), for the other virtio device tests. */
#ifndef VIRTIO_FAKES_H
#define VIRTIO_FAKES_H

#include <bulkhead/types.h>

extern bool line[128];          /* each INTID's level */
extern u32 line_changes, reports;
extern char last_report[256];
extern int fake_vm;             /* the devices' struct vm: only passed through */

#endif
