/* FP/SIMD register file save and restore for vCPU switches (the hypervisor's C code never
 * touches these registers: it is built with -mgeneral-regs-only). */
#include <asm-offsets.h>

	.text
	.global fpsimd_save
fpsimd_save:			// x0 = struct arch_fp *
	stp	q0, q1, [x0, #(FP_Q + 0 * 32)]
	stp	q2, q3, [x0, #(FP_Q + 1 * 32)]
	stp	q4, q5, [x0, #(FP_Q + 2 * 32)]
	stp	q6, q7, [x0, #(FP_Q + 3 * 32)]
	stp	q8, q9, [x0, #(FP_Q + 4 * 32)]
	stp	q10, q11, [x0, #(FP_Q + 5 * 32)]
	stp	q12, q13, [x0, #(FP_Q + 6 * 32)]
	stp	q14, q15, [x0, #(FP_Q + 7 * 32)]
	stp	q16, q17, [x0, #(FP_Q + 8 * 32)]
	stp	q18, q19, [x0, #(FP_Q + 9 * 32)]
	stp	q20, q21, [x0, #(FP_Q + 10 * 32)]
	stp	q22, q23, [x0, #(FP_Q + 11 * 32)]
	stp	q24, q25, [x0, #(FP_Q + 12 * 32)]
	stp	q26, q27, [x0, #(FP_Q + 13 * 32)]
	stp	q28, q29, [x0, #(FP_Q + 14 * 32)]
	stp	q30, q31, [x0, #(FP_Q + 15 * 32)]
	mrs	x1, fpsr
	str	x1, [x0, #FP_FPSR]
	mrs	x1, fpcr
	str	x1, [x0, #FP_FPCR]
	ret

	.global fpsimd_restore
fpsimd_restore:			// x0 = const struct arch_fp *
	ldp	q0, q1, [x0, #(FP_Q + 0 * 32)]
	ldp	q2, q3, [x0, #(FP_Q + 1 * 32)]
	ldp	q4, q5, [x0, #(FP_Q + 2 * 32)]
	ldp	q6, q7, [x0, #(FP_Q + 3 * 32)]
	ldp	q8, q9, [x0, #(FP_Q + 4 * 32)]
	ldp	q10, q11, [x0, #(FP_Q + 5 * 32)]
	ldp	q12, q13, [x0, #(FP_Q + 6 * 32)]
	ldp	q14, q15, [x0, #(FP_Q + 7 * 32)]
	ldp	q16, q17, [x0, #(FP_Q + 8 * 32)]
	ldp	q18, q19, [x0, #(FP_Q + 9 * 32)]
	ldp	q20, q21, [x0, #(FP_Q + 10 * 32)]
	ldp	q22, q23, [x0, #(FP_Q + 11 * 32)]
	ldp	q24, q25, [x0, #(FP_Q + 12 * 32)]
	ldp	q26, q27, [x0, #(FP_Q + 13 * 32)]
	ldp	q28, q29, [x0, #(FP_Q + 14 * 32)]
	ldp	q30, q31, [x0, #(FP_Q + 15 * 32)]
	ldr	x1, [x0, #FP_FPSR]
	msr	fpsr, x1
	ldr	x1, [x0, #FP_FPCR]
	msr	fpcr, x1
	ret
