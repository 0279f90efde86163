/* Physical interrupts of the hypervisor: the scheduler's timer, the reschedule kick between
 * CPUs, console input, and passed-through SPIs (handed to vgic_hw.c). Interrupts stay masked in the hypervisor; they are taken on an exit
 * from a guest, or polled after a WFI in the idle loop. */
#include <arch/cpu.h>
#include <arch/sysreg.h>
#include <arch/vgic.h>
#include <bulkhead/arch.h>
#include <bulkhead/console.h>
#include <bulkhead/log.h>
#include <bulkhead/pcpu.h>
#include <bulkhead/platform.h>
#include <bulkhead/sched.h>
#include <drivers/gicv3.h>
#include <drivers/pl011.h>

static void console_irq(void)
{
	int c;

	pl011_ack_rx_irq();
	while ((c = pl011_getc()) >= 0)
		console_input((u8)c);
}

/* The virtual timer of the loaded vCPU fired, or the list registers need attention. */
static void vgic_irq(u32 intid)
{
	struct pcpu *p = this_pcpu();

	if (!p->current) { /* nobody loaded: the line belongs to no one */
		if (intid == VIRQ_VTIMER)
			gic_set_local(p->id, VIRQ_VTIMER, false);
		return;
	}
	if (intid == VIRQ_VTIMER)
		vgic_vtimer_fired(p->current);
	else /* the maintenance condition is level: resolve it now or it fires again */
		vgic_sync(p->current);
}

u32 arch_irq_poll(void)
{
	u32 n = 0;

	for (;;) {
		u32 intid = gic_ack();

		if (intid >= GIC_SPURIOUS)
			break;
		n++;
		if (intid == VIRQ_VTIMER || intid == VIRQ_MAINT) { /* the most frequent */
			vgic_irq(intid);
		} else if (intid == SGI_KICK) {
			this_pcpu()->need_resched = 1;
		} else if (intid == SGI_HALT) {
			gic_eoi(intid);
			arch_halt();
		} else if (intid == plat.hyp_timer_irq) {
			write_sysreg(cnthp_ctl_el2, 0);
			sched_timer();
		} else if (intid == plat.uart_irq) {
			console_irq();
		} else if (vgic_hw_forward(intid)) {
			continue; /* priority dropped; the guest's completion deactivates it */
		} else {
			log_line("CPU %u: unexpected interrupt %u", this_pcpu()->id, intid);
		}
		gic_eoi(intid);
	}
	return n;
}
