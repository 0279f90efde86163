/* Structure offsets the assembly needs, generated at build time (hyp/hyp.mk) so that the
 * assembly can never disagree with the C structs. */
#include <bulkhead/pcpu.h>
#include <bulkhead/vm.h>

#define DEFINE(sym, val) __asm__ volatile("\n.ascii \"->" #sym " %0\"" : : "i"(val))

void asm_offsets(void);
void asm_offsets(void)
{
	DEFINE(PCPU_CUR_REGS, offsetof(struct pcpu, cur_regs));
	DEFINE(PCPU_SIZE, sizeof(struct pcpu));
	DEFINE(REGS_X0, offsetof(struct arch_regs, x));
	DEFINE(REGS_X30, offsetof(struct arch_regs, x[30]));
	DEFINE(REGS_PC, offsetof(struct arch_regs, pc));
	DEFINE(REGS_PSTATE, offsetof(struct arch_regs, pstate));
	DEFINE(FP_Q, offsetof(struct arch_fp, q));
	DEFINE(FP_FPSR, offsetof(struct arch_fp, fpsr));
	DEFINE(FP_FPCR, offsetof(struct arch_fp, fpcr));
	DEFINE(STACK_SIZE_ASM, STACK_SIZE);
}
