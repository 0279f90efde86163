/* gpio: drives the VM's PL061 (0x0903_0000, INTID 39) as Linux's gpio-pl061 and gpio-keys do
 * and checks every answer, then waits for the power button (pin 3) and powers off on a press.
 *
 * Checks ("gpio: <tag>: <what>: ok|FAIL"): the PrimeCell ids, reset values, register
 * read-back with byte writes, GPIODATA through its address mask, the power pin configured as
 * gpio-keys configures it (both edges, enabled, not pressed), the interrupt path (an output pin
 * toggled on a rising edge reaches INTID 39 through the virtual GIC, GPIOIC clears it, a
 * falling edge does not), a reserved offset (reads 0), and an 8-byte read (external abort:
 * only under Bulkhead). Then "gpio: done N checks, F failures",
 * "gpio: waiting for the power button", and on a press (an interrupt of pin 3, then the pin
 * reads 1) "gpio: power button pressed (...)" and PSCI SYSTEM_OFF. */
#include "gic.h"
#include "guest.h"

#define GPIO_BASE 0x09030000UL
#define GPIO_INTID 39 /* SPI 7 */
#define DATA(mask) (GPIO_BASE + ((uint64_t)(mask) << 2))
#define GPIODIR (GPIO_BASE + 0x400)
#define GPIOIS (GPIO_BASE + 0x404)
#define GPIOIBE (GPIO_BASE + 0x408)
#define GPIOIEV (GPIO_BASE + 0x40C)
#define GPIOIE (GPIO_BASE + 0x410)
#define GPIORIS (GPIO_BASE + 0x414)
#define GPIOMIS (GPIO_BASE + 0x418)
#define GPIOIC (GPIO_BASE + 0x41C)
#define GPIOAFSEL (GPIO_BASE + 0x420)
#define GPIOPERIPHID0 (GPIO_BASE + 0xFE0)
#define POWER_PIN (1u << 3)

#define KIND_IRQ_CUR_SPX 5
#define EC_DABT_CUR 0x25
#define FSC_EXTERNAL 0x10
#define GICD_ISENABLER 0x0100

#define result(tag, ok, ...) check_result("gpio", tag, ok, __VA_ARGS__)

static volatile unsigned irqs, faults, power_edges;
static volatile uint8_t last_mis;
static volatile uint64_t last_esr;

static int hook(struct exc_frame *f)
{
	if (f->kind == EXC_SYNC_CUR_SPX) {
		last_esr = f->esr;
		faults++;
		f->elr += 4; /* skip the faulting access */
		return 1;
	}
	if (f->kind != KIND_IRQ_CUR_SPX)
		return 0;
	for (;;) {
		uint32_t id = gic_ack();
		uint8_t mis;

		if (id >= 1020)
			break;
		if (id == GPIO_INTID) {
			/* what pl061_irq_handler + handle_edge_irq do: status, then ack */
			mis = gic_read8(GPIOMIS);
			last_mis = mis;
			gic_write8(GPIOIC, mis);
			if (mis & POWER_PIN)
				power_edges++;
			irqs++;
		}
		gic_eoi(id);
	}
	return 1;
}

static void check_ids(void)
{
	static const uint8_t want[8] = { 0x61, 0x10, 0x04, 0x00, 0x0D, 0xF0, 0x05, 0xB1 };
	uint32_t got[8];
	int ok = 1;

	for (int i = 0; i < 8; i++) {
		got[i] = gic_read32(GPIOPERIPHID0 + 4 * i);
		ok = ok && got[i] == want[i];
	}
	result("ids", ok, "periph %02x %02x %02x %02x cell %02x %02x %02x %02x", got[0], got[1],
	       got[2], got[3], got[4], got[5], got[6], got[7]);
}

static void check_reset(void)
{
	uint32_t dir = gic_read32(GPIODIR), is = gic_read32(GPIOIS), ibe = gic_read32(GPIOIBE);
	uint32_t iev = gic_read32(GPIOIEV), ie = gic_read32(GPIOIE), ris = gic_read32(GPIORIS);
	uint32_t afsel = gic_read32(GPIOAFSEL), data = gic_read8(DATA(0xFF));

	result("reset", !(dir | is | ibe | iev | ie | ris | afsel | data),
	       "dir %x is %x ibe %x iev %x ie %x ris %x afsel %x data %x", dir, is, ibe, iev, ie,
	       ris, afsel, data);
}

static void check_readback(void)
{
	static const uint64_t regs[5] = { GPIODIR, GPIOIS, GPIOIBE, GPIOIEV, GPIOAFSEL };
	int ok = 1;

	for (int i = 0; i < 5; i++) {
		gic_write8(regs[i], (uint8_t)(0x21 * (i + 1)));
		ok = ok && gic_read8(regs[i]) == (uint8_t)(0x21 * (i + 1));
		gic_write32(regs[i], 0xFFFFFF00u); /* upper bits reserved: the register becomes 0 */
		ok = ok && gic_read32(regs[i]) == 0;
	}
	result("readback", ok, "DIR IS IBE IEV AFSEL byte writes read back, 8 bits wide");
}

static void check_data_mask(void)
{
	uint8_t all, low, after;

	gic_write8(GPIODIR, 0x0F); /* pins 0..3 outputs */
	gic_write8(DATA(0xFF), 0xFF);
	all = gic_read8(DATA(0xFF));
	low = gic_read8(DATA(0x05));
	gic_write8(DATA(0x02), 0x00); /* clears pin 1 only */
	after = gic_read8(DATA(0xFF));
	result("data-mask", all == 0x0F && low == 0x05 && after == 0x0D,
	       "outputs 0x%x, mask 0x05 0x%x, after clearing pin 1 0x%x (want 0xf 0x5 0xd)", all,
	       low, after);
	gic_write8(DATA(0xFF), 0x00);
	gic_write8(GPIODIR, 0x00);
}

/* gpio-keys asks for both edges on the key's pin, then unmasks it (edges latched earlier by
 * the tests above are cleared first, as a careful driver does). */
static void check_power_pin(void)
{
	uint8_t ibe, ie, ris, data;

	gic_write8(GPIOIC, 0xFF);
	gic_write8(GPIOIS, gic_read8(GPIOIS) & ~POWER_PIN);
	gic_write8(GPIOIBE, gic_read8(GPIOIBE) | POWER_PIN);
	gic_write8(GPIOIE, gic_read8(GPIOIE) | POWER_PIN);
	ibe = gic_read8(GPIOIBE);
	ie = gic_read8(GPIOIE);
	ris = gic_read8(GPIORIS);
	data = gic_read8(DATA(POWER_PIN));
	delay_ms(10);
	result("power-pin", ibe == POWER_PIN && ie == POWER_PIN && !ris && !data && !irqs,
	       "ibe 0x%x ie 0x%x ris 0x%x pin 3 = %u (not pressed), %u interrupt(s)", ibe, ie, ris,
	       data >> 3, irqs);
}

static void gic_setup(void)
{
	uint64_t rd;

	gicd_init();
	rd = gicr_find(read_mpidr());
	if (rd) {
		gicr_wake(rd);
		gicr_init_private(rd);
	}
	gic_cpu_init();
	exc_set_hook(hook);
	/* level-sensitive (the reset configuration), default priority, routed to vCPU 0 */
	gic_write32(GICD_BASE + GICD_ISENABLER + (GPIO_INTID / 32) * 4, 1u << (GPIO_INTID % 32));
	irq_unmask();
}

/* Waits up to 1 s for the interrupt count to reach n. */
static int wait_irqs(unsigned n)
{
	uint64_t end = time_ms() + 1000;

	while (irqs < n && time_ms() < end)
		;
	return irqs >= n;
}

/* Pin 0 as an output, rising edge: setting it interrupts, clearing it does not. */
static void check_interrupt(void)
{
	unsigned mis1, ris_after, n_after_fall;

	gic_write8(GPIODIR, 0x01);
	gic_write8(GPIOIEV, 0x01);
	gic_write8(GPIOIC, 0x01);
	gic_write8(GPIOIE, gic_read8(GPIOIE) | 0x01);
	gic_write8(DATA(0x01), 0x01);
	wait_irqs(1);
	mis1 = last_mis;
	ris_after = gic_read8(GPIORIS);
	result("irq-rising", irqs == 1 && mis1 == 0x01 && ris_after == 0,
	       "%u interrupt(s) on INTID %u, MIS 0x%x, RIS after GPIOIC 0x%x", irqs, GPIO_INTID,
	       mis1, ris_after);
	gic_write8(DATA(0x01), 0x00);
	delay_ms(20);
	n_after_fall = irqs;
	gic_write8(DATA(0x01), 0x01);
	wait_irqs(2);
	result("irq-edges", n_after_fall == 1 && irqs == 2,
	       "falling edge: %u interrupt(s) in all, next rising edge: %u", n_after_fall, irqs);
	gic_write8(GPIOIE, gic_read8(GPIOIE) & ~0x01);
	gic_write8(DATA(0x01), 0x00);
	gic_write8(GPIODIR, 0x00);
	gic_write8(GPIOIEV, 0x00);
}

static void check_bad_accesses(void)
{
	unsigned before = faults;
	uint64_t v = 0x1234;
	uint32_t reserved = gic_read32(GPIO_BASE + 0x800);

	gic_read32(GPIO_BASE + 0x804); /* a second one: the hypervisor reports only once */
	result("reserved", reserved == 0 && faults == before, "offset 0x800 reads 0x%x", reserved);
	__asm__ volatile("ldr %0, [%1]" : "+r"(v) : "r"(GPIO_BASE + 0x400) : "memory");
	result("ldr64", faults == before + 1 && ESR_EC(last_esr) == EC_DABT_CUR &&
			      ESR_DFSC(last_esr) == FSC_EXTERNAL,
	       "8-byte read: %u fault(s), esr 0x%lx (want an external abort)", faults - before,
	       (unsigned long)last_esr);
}

int main(void)
{
	check_ids();
	check_reset();
	check_readback();
	check_data_mask();
	gic_setup();
	check_power_pin();
	check_interrupt();
	check_bad_accesses();
	printf("gpio: done %u checks, %u failures\n", check_count, check_failures);
	printf("gpio: waiting for the power button\n");
	/* what gpio-keys does: after an interrupt of the key's pin, read the pin; 1 = pressed */
	for (unsigned seen = 0;;) {
		irq_mask();
		if (power_edges == seen)
			wfi(); /* a pending interrupt ends it even with IRQs masked */
		irq_unmask(); /* the hook takes it */
		if (power_edges == seen)
			continue;
		seen = power_edges;
		if (gic_read8(DATA(POWER_PIN)))
			break;
		printf("gpio: pin 3 interrupt, pin reads 0 (not a press)\n");
	}
	printf("gpio: power button pressed (%u interrupt(s) of pin 3)\n", power_edges);
	psci_system_off();
	printf("gpio: FAIL SYSTEM_OFF returned\n");
	halt();
}
