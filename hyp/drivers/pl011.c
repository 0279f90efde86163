/* Physical PL011 driver: polled transmit, interrupt-driven receive. */
#include <bulkhead/io.h>
#include <drivers/pl011.h>

#define DR 0x00
#define FR 0x18
#define IBRD 0x24
#define FBRD 0x28
#define LCR_H 0x2C
#define CR 0x30
#define IMSC 0x38
#define ICR 0x44
#define FR_TXFF (1u << 5)
#define FR_RXFE (1u << 4)
#define INT_RX (1u << 4)
#define INT_RT (1u << 6)

static paddr_t uart;

void pl011_init(paddr_t base)
{
	uart = base;
	io_write32(uart + CR, 0);
	io_write32(uart + IMSC, 0);
	io_write32(uart + ICR, 0x7FF);
	io_write32(uart + LCR_H, (3u << 5) | (1u << 4)); /* 8 bits, FIFOs on */
	io_write32(uart + CR, (1u << 0) | (1u << 8) | (1u << 9)); /* UARTEN, TXE, RXE */
}

void pl011_putc(char c)
{
	if (!uart)
		return;
	while (io_read32(uart + FR) & FR_TXFF)
		;
	io_write32(uart + DR, (u8)c);
}

int pl011_getc(void)
{
	if (!uart || (io_read32(uart + FR) & FR_RXFE))
		return -1;
	return (int)(io_read32(uart + DR) & 0xFF);
}

void pl011_enable_rx_irq(void)
{
	io_write32(uart + IMSC, INT_RX | INT_RT);
}

void pl011_ack_rx_irq(void)
{
	io_write32(uart + ICR, INT_RX | INT_RT);
}
