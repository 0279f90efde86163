/* The physical PL011 UART the hypervisor's console uses. */
#ifndef DRIVERS_PL011_H
#define DRIVERS_PL011_H

#include <bulkhead/types.h>

void pl011_init(paddr_t base);
void pl011_putc(char c);
/* Next received byte, or -1 if none. */
int pl011_getc(void);
/* Interrupt on received data (and receive timeout). */
void pl011_enable_rx_irq(void);
void pl011_ack_rx_irq(void);

#endif
