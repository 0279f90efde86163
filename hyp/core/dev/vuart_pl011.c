/* The emulated PL011 of each VM (the subset Linux's amba-pl011 driver and simple polled
 * guests use). Output is assembled into lines for the console multiplexer; input arrives from
 * the multiplexer into a receive FIFO. */
#include <bulkhead/arch.h>
#include <bulkhead/console.h>
#include <bulkhead/string.h>
#include <bulkhead/virtio_console.h>
#include <bulkhead/vm.h>
#include <bulkhead/vuart.h>

#define DR 0x000
#define RSR 0x004
#define FR 0x018
#define ILPR 0x020
#define IBRD 0x024
#define FBRD 0x028
#define LCR_H 0x02C
#define CR 0x030
#define IFLS 0x034
#define IMSC 0x038
#define RIS 0x03C
#define MIS 0x040
#define ICR 0x044
#define DMACR 0x048
#define PERIPH_ID 0xFE0

#define FR_TXFE (1u << 7)
#define FR_RXFF (1u << 6)
#define FR_RXFE (1u << 4)
#define INT_RX (1u << 4)
#define INT_TX (1u << 5)
#define INT_RT (1u << 6)

/* Consecutive status reads with a partial line pending before it is shown: a guest polling
 * for input after printing a prompt. */
#define POLLS_BEFORE_FLUSH 64

static const u8 id_regs[8] = { 0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1 };

void vuart_init(struct vuart *u, struct vm *vm, u32 intid)
{
	memset(u, 0, sizeof(*u));
	u->vm = vm;
	u->intid = intid;
	u->cr = 0x300; /* TXE, RXE */
	u->lcr_h = 0;
	u->ifls = 0x12;
}

static u32 rx_count(const struct vuart *u)
{
	return (u->rx_head - u->rx_tail) % VUART_RX_SIZE;
}

static u32 ris(const struct vuart *u)
{
	return INT_TX | (rx_count(u) ? INT_RX | INT_RT : 0);
}

/* Drives the interrupt line from the masked status; called with the lock held, so level
 * changes reach the interrupt controller in the order they happened. */
static void update_line(struct vuart *u)
{
	bool level = (ris(u) & u->imsc) != 0;

	if (level != u->irq_level) {
		u->irq_level = level;
		arch_vm_irq_line(u->vm, u->intid, level);
	}
}

bool vuart_push_input(struct vuart *u, u8 c)
{
	spin_lock(&u->lock);
	bool ok = rx_count(u) < VUART_RX_SIZE - 1;
	if (ok) {
		u->rx[u->rx_head] = c;
		u->rx_head = (u->rx_head + 1) % VUART_RX_SIZE;
		update_line(u);
	}
	spin_unlock(&u->lock);
	return ok;
}

static void flush_locked(struct vuart *u, bool partial)
{
	if (u->vm->vcon) /* keyboard input follows the console the guest writes to */
		__atomic_store_n(&u->vm->vcon->wrote_last, false, __ATOMIC_RELAXED);
	console_vm_output(u->vm, u->line, u->line_len, partial);
	u->line_len = 0;
}

void vuart_flush(struct vuart *u)
{
	spin_lock(&u->lock);
	if (u->line_len)
		flush_locked(u, true);
	spin_unlock(&u->lock);
}

static void output(struct vuart *u, u8 c)
{
	u->polls = 0;
	if (c == '\r')
		return;
	if (c == '\n') {
		flush_locked(u, false);
		return;
	}
	u->line[u->line_len++] = (char)c;
	if (u->line_len == VUART_LINE_MAX)
		flush_locked(u, true);
}

static u32 read_reg(struct vuart *u, u64 off)
{
	switch (off) {
	case DR: {
		if (u->line_len)
			flush_locked(u, true); /* reading input: show the prompt first */
		if (!rx_count(u))
			return 0;
		u8 c = u->rx[u->rx_tail];
		u->rx_tail = (u->rx_tail + 1) % VUART_RX_SIZE;
		u->rx_dropped = 0;
		return c;
	}
	case FR:
		if (u->line_len && ++u->polls >= POLLS_BEFORE_FLUSH)
			flush_locked(u, true);
		return FR_TXFE | (rx_count(u) ? 0 : FR_RXFE) |
		       (rx_count(u) == VUART_RX_SIZE - 1 ? FR_RXFF : 0);
	case IBRD: return u->ibrd;
	case FBRD: return u->fbrd;
	case LCR_H: return u->lcr_h;
	case CR: return u->cr;
	case IFLS: return u->ifls;
	case IMSC: return u->imsc;
	case RIS: return ris(u);
	case MIS: return ris(u) & u->imsc;
	case DMACR: return u->dmacr;
	}
	if (off >= PERIPH_ID && off < PERIPH_ID + 32 && !(off & 3))
		return id_regs[(off - PERIPH_ID) / 4];
	return 0; /* RSR, ILPR and reserved offsets read as zero */
}

static void write_reg(struct vuart *u, u64 off, u32 val)
{
	switch (off) {
	case DR: output(u, (u8)val); break;
	case IBRD: u->ibrd = val & 0xFFFF; break;
	case FBRD: u->fbrd = val & 0x3F; break;
	case LCR_H: u->lcr_h = val & 0xFF; break;
	case CR: u->cr = val & 0xFF87; break;
	case IFLS: u->ifls = val & 0x3F; break;
	case IMSC: u->imsc = val & 0x7FF; break;
	case DMACR: u->dmacr = val & 7; break;
	default: break; /* RSR/ICR clear nothing we keep; reserved offsets ignore writes */
	}
}

static bool vuart_read(void *dev, u64 off, u32 width, u64 *value)
{
	struct vuart *u = dev;

	if (width > 4 || (off & (width - 1)))
		return false;
	spin_lock(&u->lock);
	*value = read_reg(u, off & ~3ULL) >> (8 * (off & 3));
	update_line(u);
	spin_unlock(&u->lock);
	if (width < 4)
		*value &= (1ULL << (8 * width)) - 1;
	return true;
}

static bool vuart_write(void *dev, u64 off, u32 width, u64 value)
{
	struct vuart *u = dev;

	if (width > 4 || (off & 3))
		return false;
	spin_lock(&u->lock);
	write_reg(u, off, (u32)value);
	update_line(u);
	spin_unlock(&u->lock);
	return true;
}

const struct mmio_ops vuart_pl011_ops = { "pl011", vuart_read, vuart_write };
