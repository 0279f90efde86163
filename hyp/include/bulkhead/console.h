/* The console multiplexer: every line on the physical UART is tagged with the VM that wrote
 * it ("[name] ") or "[hyp] "; keyboard input goes to one VM at a time, switched by pressing
 * Ctrl-A three times. */
#ifndef BULKHEAD_CONSOLE_H
#define BULKHEAD_CONSOLE_H

#include <bulkhead/types.h>

struct vm;

void console_init(void);
/* Writes text tagged with tag ("hyp" or a VM name). If partial is false, the text is a whole
 * line and a newline is added; if true, the next write with the same tag continues it. */
void console_write(const char *tag, const char *text, u32 len, bool partial);
/* One byte from the physical UART. */
void console_input(u8 c);
/* Gives input focus to the first VM (after boot-time VMs exist). */
void console_focus_first(void);
/* Output of VM vm's console (its UART or virtio console): console_write with its tag, and a
 * copy to a management VM attached to it (bhctl console). */
void console_vm_output(struct vm *vm, const char *text, u32 len, bool partial);
/* One byte of keyboard input for vm (from the physical console or bhctl console); false if
 * its buffer is full (the byte is dropped, said once per burst). */
bool console_vm_input(struct vm *vm, u8 c);
/* The VM is being destroyed: the focus moves on if it had it. */
void console_vm_gone(struct vm *vm);
/* Writes raw text with no tag and no locking: panic only. */
void console_emergency(const char *s);

#endif
