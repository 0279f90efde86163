/* The emulated PL061 GPIO controller each VM sees at QEMU virt's place, whose pin 3 is the VM's
 * power button (docs/guest-interface.md): how the hypervisor asks a guest to power off. */
#ifndef BULKHEAD_VGPIO_H
#define BULKHEAD_VGPIO_H

#include <bulkhead/config.h>
#include <bulkhead/mmio.h>
#include <bulkhead/spinlock.h>
#include <bulkhead/types.h>

#define VGPIO_BASE CFG_PL061_BASE /* guest-physical 0x0903_0000, as on QEMU virt */
#define VGPIO_SIZE CFG_PL061_SIZE /* 4 KiB */
#define VGPIO_SPI 7                 /* SPI 7 = INTID 39, level-sensitive, as on QEMU virt */
#define VGPIO_INTID (32 + VGPIO_SPI)
#define VGPIO_PIN_POWER 3           /* the power button's pin (QEMU virt's too) */

struct vgpio {
	struct vm *vm;
	spinlock_t lock;
	u32 intid;
	/* The PL061's registers (8 bits each; the rest of each word is reserved). */
	u8 data;  /* output latch: what GPIODATA drives on pins whose GPIODIR bit is 1 */
	u8 dir;   /* GPIODIR: 1 = output */
	u8 is;    /* GPIOIS: 1 = level-sensitive, 0 = edge */
	u8 ibe;   /* GPIOIBE: 1 = both edges (for edge pins) */
	u8 iev;   /* GPIOIEV: 1 = rising edge / high level, 0 = falling edge / low level */
	u8 ie;    /* GPIOIE: 1 = the pin's interrupt reaches the line */
	u8 afsel; /* GPIOAFSEL: kept, no effect (no alternate functions here) */
	u8 edges; /* edges detected on edge pins, until cleared through GPIOIC */
	/* What the outside drives on the pins (input pins read it): the power button. */
	u8 input;
	u8 pins;        /* the pins' levels as last evaluated (edge detection) */
	bool irq_level; /* the interrupt line's current level */
	bool reported;  /* one console report about a bad access has been made */
};

extern const struct mmio_ops vgpio_pl061_ops;

/* Resets the device (every register 0, the button released, the line low). */
void vgpio_init(struct vgpio *g, struct vm *vm, u32 intid);
void vgpio_reset(struct vgpio *g);
/* Presses the power button: pin VGPIO_PIN_POWER goes high (a rising edge). It stays high
 * until the guest has read it as 1 through GPIODATA (that read returns 1, then the pin falls:
 * a falling edge), so a guest driver that samples the pin after its interrupt always sees the
 * press. Returns false if the button was still held (the press changes nothing). Any CPU. */
bool vgpio_press(struct vgpio *g, u32 pin);

#endif
