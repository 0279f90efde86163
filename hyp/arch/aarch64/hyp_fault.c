/* An exception taken from the hypervisor itself is a bug: print everything a developer needs
 * (syndrome, fault address, return address, registers) and stop every CPU. */
#include <arch/sysreg.h>
#include <bulkhead/log.h>
#include <bulkhead/pcpu.h>
#include <bulkhead/string.h>

struct hyp_frame {
	u64 x[31];
	u64 elr, spsr, sp;
};

static const char *const kinds[] = { "synchronous exception", "IRQ", "FIQ", "SError" };

void hyp_exception(struct hyp_frame *f, u64 kind);
void hyp_exception(struct hyp_frame *f, u64 kind)
{
	char line[96];
	u64 esr = read_sysreg(esr_el2);

	snprintf(line, sizeof(line), "PANIC: %s in the hypervisor on CPU %u",
		 kinds[kind & 3], this_pcpu()->id);
	console_emergency_line(line);
	snprintf(line, sizeof(line), "ESR_EL2 0x%016lx (EC 0x%02lx) FAR_EL2 0x%016lx", esr,
		 ESR_EC(esr), read_sysreg(far_el2));
	console_emergency_line(line);
	snprintf(line, sizeof(line), "ELR_EL2 0x%016lx SPSR_EL2 0x%08lx SP 0x%016lx", f->elr,
		 f->spsr, f->sp);
	console_emergency_line(line);
	for (int i = 0; i < 31; i += 3) {
		int n = snprintf(line, sizeof(line), "x%-2d 0x%016lx", i, f->x[i]);
		for (int j = i + 1; j < i + 3 && j < 31; j++)
			n += snprintf(line + n, sizeof(line) - (size_t)n, "  x%-2d 0x%016lx", j, f->x[j]);
		console_emergency_line(line);
	}
	panic("unexpected exception in the hypervisor (see above; look up ELR in build/bulkhead.elf)");
}
