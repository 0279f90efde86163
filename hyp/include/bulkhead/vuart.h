/* The emulated PL011 UART a VM sees: output goes to the console multiplexer, input comes
 * from it when the VM has the console's focus. */
#ifndef BULKHEAD_VUART_H
#define BULKHEAD_VUART_H

#include <bulkhead/mmio.h>
#include <bulkhead/spinlock.h>
#include <bulkhead/types.h>

/* Input waiting for the guest: more than a PL011's 32-byte FIFO, so a pasted command is not
 * lost while the guest's vCPU waits for its CPU. */
#define VUART_RX_SIZE 4096
#define VUART_LINE_MAX 160
#define VUART_DEFAULT_INTID 33 /* SPI 1, as on QEMU virt */

struct vuart {
	struct vm *vm;
	spinlock_t lock;
	u8 rx[VUART_RX_SIZE];
	u32 rx_head, rx_tail; /* ring: head == tail is empty */
	u32 rx_dropped;       /* input bytes lost to a full ring */
	u32 cr, lcr_h, ibrd, fbrd, ifls, imsc, ris, dmacr;
	/* output line being assembled, flushed to the console at a newline */
	char line[VUART_LINE_MAX];
	u32 line_len;
	u32 polls; /* status reads since the last output byte */
	u32 intid; /* interrupt line to the VM's interrupt controller */
	bool irq_level; /* its current level */
};

extern const struct mmio_ops vuart_pl011_ops;

void vuart_init(struct vuart *u, struct vm *vm, u32 intid);
/* Queues one input byte; false if the receive FIFO is full (the byte is dropped). */
bool vuart_push_input(struct vuart *u, u8 c);
/* Sends a partial output line to the console (when the guest waits for input or idles). */
void vuart_flush(struct vuart *u);

#endif
