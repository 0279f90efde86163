/* The emulated ARM PrimeCell PL061 GPIO controller of each VM (ARM DDI 0190): eight pins, edge
 * and level interrupt detection, one interrupt line; pin 3 is wired to the VM's power button. */
#include <bulkhead/arch.h>
#include <bulkhead/vgpio.h>
#include <bulkhead/vm.h>

#define DATA_END 0x400 /* GPIODATA: 0x000..0x3FC, address bits 9:2 mask the pins */
#define DIR 0x400
#define IS 0x404
#define IBE 0x408
#define IEV 0x40C
#define IE 0x410
#define RIS 0x414
#define MIS 0x418
#define IC 0x41C
#define AFSEL 0x420
#define PERIPH_ID 0xFE0 /* GPIOPeriphID0..3, GPIOPCellID0..3: one byte per word */

/* PeriphID: part 0x061, designer 0x41 (ARM), revision 0 (Linux matches 0x00041061); the
 * PrimeCell id 0xB105F00D. */
static const u8 id_regs[8] = { 0x61, 0x10, 0x04, 0x00, 0x0D, 0xF0, 0x05, 0xB1 };

void vgpio_init(struct vgpio *g, struct vm *vm, u32 intid)
{
	g->vm = vm;
	g->intid = intid;
	vgpio_reset(g);
}

/* The pins' levels: outputs driven from the data latch, inputs from outside. */
static u8 pin_levels(const struct vgpio *g)
{
	return (u8)((g->data & g->dir) | (g->input & ~g->dir));
}

/* Raw interrupt status: latched edges of edge pins, the present condition of level pins (a
 * level interrupt follows its pin; GPIOIC does not clear it). */
static u8 ris(const struct vgpio *g)
{
	u8 level = (u8)(~(g->pins ^ g->iev) & g->is);

	return (u8)((g->edges & ~g->is) | level);
}

/* Re-evaluates the pins after anything that can change them or the detection, latches the
 * edges that happened, and drives the interrupt line. Called with the lock held, so level
 * changes reach the interrupt controller in the order they happened. */
static void update(struct vgpio *g)
{
	u8 now = pin_levels(g), changed = (u8)(now ^ g->pins);
	/* An edge counts on a pin when both edges are wanted, or when it went to IEV's level. */
	u8 hits = (u8)(changed & ~g->is & (g->ibe | ~(now ^ g->iev)));
	bool level;

	g->pins = now;
	g->edges |= hits;
	level = (ris(g) & g->ie) != 0;
	if (level != g->irq_level) {
		g->irq_level = level;
		arch_vm_irq_line(g->vm, g->intid, level);
	}
}

void vgpio_reset(struct vgpio *g)
{
	spin_lock(&g->lock);
	g->data = g->dir = g->is = g->ibe = g->iev = g->ie = g->afsel = 0;
	g->edges = g->input = g->pins = 0;
	g->reported = false;
	update(g); /* lowers the line if it was high */
	spin_unlock(&g->lock);
}

bool vgpio_press(struct vgpio *g, u32 pin)
{
	u8 bit = (u8)(1u << (pin & 7));
	bool fresh;

	if (pin > 7)
		return false;
	spin_lock(&g->lock);
	fresh = !(g->input & bit);
	g->input |= bit;
	update(g);
	spin_unlock(&g->lock);
	return fresh;
}

/* One report per device (per boot) about an access that does nothing, within the VM's
 * report budget; the guest goes on (reads 0, writes ignored). */
static void odd_access(struct vgpio *g, const char *what, u64 off)
{
	if (g->reported)
		return;
	g->reported = true;
	vm_report_vm(g->vm, "pl061: %s at offset 0x%llx ignored (reported once)", what,
		     (unsigned long long)off);
}

/* A read of GPIODATA: the pins selected by address bits 9:2. A pressed button the guest sees
 * here is released now (the falling edge follows the read). */
static u8 read_data(struct vgpio *g, u64 off)
{
	u8 mask = (u8)(off >> 2), val = g->pins & mask;
	u8 seen = (u8)(val & g->input & ~g->dir);

	if (seen) {
		g->input &= (u8)~seen;
		update(g);
	}
	return val;
}

static u32 read_reg(struct vgpio *g, u64 off)
{
	if (off < DATA_END)
		return read_data(g, off);
	switch (off) {
	case DIR: return g->dir;
	case IS: return g->is;
	case IBE: return g->ibe;
	case IEV: return g->iev;
	case IE: return g->ie;
	case RIS: return ris(g);
	case MIS: return ris(g) & g->ie;
	case AFSEL: return g->afsel;
	case IC: odd_access(g, "read of write-only GPIOIC", off); return 0;
	}
	if (off >= PERIPH_ID && off < PERIPH_ID + 32)
		return id_regs[(off - PERIPH_ID) / 4];
	odd_access(g, "read of a reserved register", off);
	return 0;
}

static void write_reg(struct vgpio *g, u64 off, u8 val)
{
	if (off < DATA_END) {
		/* only output pins selected by the address take the value */
		u8 mask = (u8)(off >> 2) & g->dir;

		g->data = (u8)((g->data & ~mask) | (val & mask));
		update(g);
		return;
	}
	switch (off) {
	case DIR: g->dir = val; break;
	case IS: g->is = val; break;
	case IBE: g->ibe = val; break;
	case IEV: g->iev = val; break;
	case IE: g->ie = val; break;
	case IC: g->edges &= (u8)~val; break;
	case AFSEL: g->afsel = val; break;
	case RIS:
	case MIS: odd_access(g, "write to read-only GPIORIS/GPIOMIS", off); return;
	default:
		odd_access(g, off >= PERIPH_ID ? "write to a read-only id register" :
						 "write to a reserved register", off);
		return;
	}
	update(g);
}

/* Registers are 8 bits in 32-bit words: 8-, 16- and 32-bit aligned accesses are accepted
 * (Linux uses byte accesses, the AMBA bus probe 32-bit reads of the id registers). Bytes 1..3
 * of a word are reserved: they read as 0 and ignore writes. */
static bool vgpio_read(void *dev, u64 off, u32 width, u64 *value)
{
	struct vgpio *g = dev;

	if (width > 4 || (off & (width - 1)) || off >= VGPIO_SIZE)
		return false;
	spin_lock(&g->lock);
	*value = (off & 3) ? 0 : read_reg(g, off);
	spin_unlock(&g->lock);
	return true;
}

static bool vgpio_write(void *dev, u64 off, u32 width, u64 value)
{
	struct vgpio *g = dev;

	if (width > 4 || (off & (width - 1)) || off >= VGPIO_SIZE)
		return false;
	if (off & 3)
		return true; /* only reserved bits */
	spin_lock(&g->lock);
	write_reg(g, off, (u8)value);
	spin_unlock(&g->lock);
	return true;
}

const struct mmio_ops vgpio_pl061_ops = { "pl061", vgpio_read, vgpio_write };
