/* The device tree a VM boots with, from its configuration: QEMU virt's layout with the VM's
 * RAM, vCPUs, GIC, timer, PL011, PL061 power button, virtio devices, channels, passed-through
 * devices, command line and initrd (guest_dtb.c writes it). */
#include <arch/guest_dtb.h>
#include <arch/vgic.h>
#include <bulkhead/arch.h>
#include <bulkhead/ivc.h>
#include <bulkhead/vm.h>

u32 arch_vm_build_dtb(const struct vm *vm, void *buf, u32 size)
{
	struct guest_dtb g = {
		.ram_base = vm->ram_base,
		.ram_size = vm->ram_size,
		.nr_vcpus = vm->nr_vcpus,
		.bootargs = vm->cfg.bootargs,
		.initrd_start = vm->img.initrd ? vm->initrd_addr : 0,
		.initrd_end = vm->img.initrd ? vm->initrd_addr + vm->img.initrd_size : 0,
		.uart_base = vm->cfg.pl011.base,
		.uart_spi = vm->uart.intid - 32,
		.gpio_base = VGPIO_BASE,
		.gpio_spi = vm->gpio.intid - 32,
		.power_pin = VGPIO_PIN_POWER,
		.gicd_base = VGIC_GICD_BASE,
		.gicr_base = VGIC_GICR_BASE,
	};

	_Static_assert(CFG_MAX_VIRTIO <= GUEST_DTB_MAX_VIRTIO, "room for every virtio device");
	for (u32 i = 0; i < vm->cfg.nr_disks; i++) {
		g.virtio[i].base = CFG_VIRTIO_BASE + vm->cfg.disk[i].slot * CFG_VIRTIO_STRIDE;
		g.virtio[i].spi = CFG_VIRTIO_SPI0 + vm->cfg.disk[i].slot;
	}
	for (u32 i = 0; i < vm->cfg.nr_nics; i++) {
		g.virtio[vm->cfg.nr_disks + i].base =
			CFG_VIRTIO_BASE + vm->cfg.nic[i].slot * CFG_VIRTIO_STRIDE;
		g.virtio[vm->cfg.nr_disks + i].spi = CFG_VIRTIO_SPI0 + vm->cfg.nic[i].slot;
	}
	g.nr_virtio = vm->cfg.nr_disks + vm->cfg.nr_nics;
	if (vm->cfg.nr_vcons) {
		g.virtio[g.nr_virtio].base = CFG_VIRTIO_BASE + vm->cfg.vcon_slot * CFG_VIRTIO_STRIDE;
		g.virtio[g.nr_virtio++].spi = CFG_VIRTIO_SPI0 + vm->cfg.vcon_slot;
	}
	_Static_assert(CFG_MAX_CHANNELS <= GUEST_DTB_MAX_IVC, "room for every channel");
	for (u32 i = 0; i < vm->nr_ivc; i++) {
		const struct ivc_end *e = vm->ivc[i];

		g.ivc[i].base = e->chan->cfg.ipa;
		g.ivc[i].size = e->chan->cfg.size;
		g.ivc[i].spi = e->chan->intid - 32;
		g.ivc[i].role = e->role;
		g.ivc[i].name = e->chan->cfg.name;
		g.ivc[i].peer = e->peer_name; /* the peer may have been destroyed since */
	}
	g.nr_ivc = vm->nr_ivc;
	_Static_assert(CFG_MAX_PT <= GUEST_DTB_MAX_PT && CFG_PT_MAX_REGS <= GUEST_DTB_PT_REGS &&
			       CFG_PT_MAX_IRQS <= GUEST_DTB_PT_IRQS,
		       "room for every passed-through device");
	for (u32 i = 0; i < vm->cfg.nr_pt; i++) {
		const struct cfg_passthrough *pt = &vm->cfg.pt[i];

		g.pt[i].compatible = pt->compatible;
		g.pt[i].compatible_len = pt->compatible_len;
		g.pt[i].nr_regs = pt->nr_regs;
		for (u32 k = 0; k < pt->nr_regs; k++) {
			g.pt[i].reg_base[k] = pt->reg[k].base;
			g.pt[i].reg_size[k] = pt->reg[k].size;
		}
		g.pt[i].nr_irqs = pt->nr_irqs;
		for (u32 k = 0; k < pt->nr_irqs; k++)
			g.pt[i].spi[k] = pt->irq[k] - 32;
		g.pt[i].dma = pt->dma;
	}
	g.nr_pt = vm->cfg.nr_pt;
	return guest_dtb_build(buf, size, &g);
}
