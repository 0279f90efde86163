/* vCPU power state changes a guest asks for: PSCI CPU_ON and CPU_OFF, and waiting for an
 * interrupt. The new state is taken up by the vCPU's own physical CPU when it next
 * schedules, so a vCPU's registers are only ever touched by the CPU it is pinned to. */
#include <bulkhead/arch.h>
#include <bulkhead/errno.h>
#include <bulkhead/pcpu.h>
#include <bulkhead/sched.h>
#include <bulkhead/vm.h>

int vcpu_power_on(struct vcpu *v, gpa_t entry, u64 arg)
{
	struct vm *vm = v->vm;
	int r = E_OK;

	if ((entry & 3) || !vm_ram_contains(vm, entry, 4))
		return E_INVAL;
	spin_lock(&vm->lock);
	if (vm->state != VM_RUNNING || v->on_pending ||
	    __atomic_load_n(&v->state, __ATOMIC_ACQUIRE) != VCPU_OFF) {
		r = E_BUSY;
	} else {
		v->boot_entry = entry;
		v->boot_arg = arg;
		v->on_pending = true;
		__atomic_store_n(&v->boot_pending, true, __ATOMIC_RELEASE);
		__atomic_store_n(&v->state, VCPU_RUNNABLE, __ATOMIC_RELEASE);
	}
	spin_unlock(&vm->lock);
	if (!r)
		sched_poke(v->pcpu);
	return r;
}

void vcpu_power_off(struct vcpu *v)
{
	spin_lock(&v->vm->lock);
	__atomic_store_n(&v->state, VCPU_OFF, __ATOMIC_RELEASE);
	spin_unlock(&v->vm->lock);
	this_pcpu()->need_resched = 1;
}

void vcpu_wait(struct vcpu *v, u64 deadline)
{
	u32 expected = VCPU_RUNNABLE;

	vuart_flush(&v->vm->uart); /* an idle guest's prompt is complete */
	v->wake_at = deadline;
	/* Publish the wait first, then look for interrupts: one raised in between finds the vCPU
	 * waiting and wakes it, instead of being missed. */
	if (!__atomic_compare_exchange_n(&v->state, &expected, VCPU_WFI, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return; /* powered off meanwhile */
	if (arch_vcpu_irq_pending(v)) {
		expected = VCPU_WFI; /* WFI completes at once with an interrupt pending */
		__atomic_compare_exchange_n(&v->state, &expected, VCPU_RUNNABLE, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		return;
	}
	this_pcpu()->need_resched = 1;
}

void vcpu_wake(struct vcpu *v)
{
	struct pcpu *p = this_pcpu();
	u32 expected = VCPU_WFI;

	__atomic_compare_exchange_n(&v->state, &expected, VCPU_RUNNABLE, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_ACQUIRE);
	if (p->current != v) /* the loaded vCPU resynchronizes before it re-enters anyway */
		sched_poke(v->pcpu);
}
