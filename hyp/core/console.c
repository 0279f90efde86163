/* The console multiplexer. Output: each line is tagged "[vm] " or "[hyp] " and written whole
 * under one lock, so lines of different VMs never mix. A partial line (a prompt) stays open
 * until its VM continues it or someone else writes. Input: bytes go to the VM with the focus
 * (its virtio console's port 0 if the guest has it open, else its PL011); Ctrl-A pressed three
 * times moves the focus to the next VM. */
#include <bulkhead/console.h>
#include <bulkhead/ctl.h>
#include <bulkhead/log.h>
#include <bulkhead/spinlock.h>
#include <bulkhead/string.h>
#include <bulkhead/virtio_console.h>
#include <bulkhead/vm.h>
#include <drivers/pl011.h>

#define CTRL_A 0x01
#define SWITCH_PRESSES 3

static spinlock_t lock = SPINLOCK_INIT;       /* output */
static spinlock_t input_lock = SPINLOCK_INIT; /* input: the focus, deliveries */
static const char *open_tag; /* tag of the partial line now on the console, or NULL */
static u32 focus;            /* VM receiving input */
static u32 ctrl_a_seen;

static void put_raw(const char *s, u32 len)
{
	for (u32 i = 0; i < len; i++) {
		if (s[i] == '\n')
			pl011_putc('\r');
		pl011_putc(s[i]);
	}
}

void console_init(void)
{
	open_tag = NULL;
}

void console_write(const char *tag, const char *text, u32 len, bool partial)
{
	spin_lock(&lock);
	if (open_tag && open_tag != tag) {
		put_raw("\n", 1);
		open_tag = NULL;
	}
	if (!open_tag) {
		put_raw("[", 1);
		put_raw(tag, (u32)strlen(tag));
		put_raw("] ", 2);
	}
	put_raw(text, len);
	if (partial) {
		open_tag = tag;
	} else {
		put_raw("\n", 1);
		open_tag = NULL;
	}
	spin_unlock(&lock);
}

void console_emergency(const char *s)
{
	put_raw(s, (u32)strlen(s));
}

void console_emergency_line(const char *s)
{
	console_emergency("\n[hyp] ");
	console_emergency(s);
	console_emergency("\n");
}

/* Input goes to the VM's virtio console while the guest has its port 0 open, else to its
 * PL011 (early boot, a guest without the driver). */
bool console_vm_input(struct vm *vm, u8 c)
{
	if (vm->vcon && vcon_console_input(vm->vcon, c))
		return true;
	/* A full receive buffer drops the byte, as a real UART overruns; say so once per burst. */
	if (vuart_push_input(&vm->uart, c))
		return true;
	if (vm->uart.rx_dropped++ == 0)
		log_line("vm '%s': input buffer full (%u bytes): input dropped until it reads",
			 vm->name, VUART_RX_SIZE - 1);
	return false;
}

static void deliver(u8 c)
{
	struct vm *vm = vm_get(focus);

	if (vm && vm->state != VM_DYING)
		console_vm_input(vm, c);
}

void console_vm_output(struct vm *vm, const char *text, u32 len, bool partial)
{
	console_write(vm->name, text, len, partial);
	ctl_console_output(vm, text, len, partial);
}

/* The next VM after slot from (cyclically), or from itself if there is none. */
static u32 next_vm(u32 from)
{
	for (u32 k = 1; k <= MAX_VMS; k++)
		if (vm_get((from + k) % MAX_VMS))
			return (from + k) % MAX_VMS;
	return from;
}

void console_focus_first(void)
{
	focus = next_vm(MAX_VMS - 1);
	if (nr_vms > 1)
		log_line("console input -> '%s' (press Ctrl-A three times to switch)", vms[focus].name);
}

void console_vm_gone(struct vm *vm)
{
	/* Under the input lock: a byte being delivered to vm is through before it goes. */
	spin_lock(&input_lock);
	if (focus == vm->id) {
		focus = next_vm(focus);
		if (focus != vm->id)
			log_line("console input -> '%s'", vms[focus].name);
	}
	spin_unlock(&input_lock);
}

static void input_locked(u8 c)
{
	if (c == CTRL_A) {
		if (++ctrl_a_seen == SWITCH_PRESSES) {
			ctrl_a_seen = 0;
			if (nr_vms) {
				focus = next_vm(focus);
				log_line("console input -> '%s'", vms[focus].name);
			}
		}
		return;
	}
	for (; ctrl_a_seen; ctrl_a_seen--) /* fewer than three: they were meant for the VM */
		deliver(CTRL_A);
	deliver(c);
}

void console_input(u8 c)
{
	spin_lock(&input_lock);
	input_locked(c);
	spin_unlock(&input_lock);
}
