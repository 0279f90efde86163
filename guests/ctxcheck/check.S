/* ctxcheck: the register fill-and-check loop (see main.c). All in assembly so that nothing but
 * this code touches x19..x28, v8..v15 and FPCR between the fill and the checks.
 *
 * int ctx_run(struct ctx_state *s)
 *   Loads x19..x28, v8..v15 (all 128 bits) and FPCR from s, then s->iterations times: calls
 *   PSCI_VERSION with HVC (checks it returns 0x10001), does some integer and FP/SIMD busy work in
 *   the other registers (x0..x17, v0..v7, v16..v31), counts a "switch" when more than s->gap
 *   counter ticks passed since the previous iteration (the vCPU was not running), and checks that
 *   x19..x28, v8..v15, FPCR and SP still hold what was loaded. Returns 0 if they always did; else
 *   stores the register's number (CTX_* in main.c) in s->bad_reg and its value in s->bad_got and
 *   returns 1. s->switches is incremented in place.
 *
 * While the loop runs, x29 holds s, x30 the iterations left and x18 the previous counter value
 * (SMCCC: HVC preserves x18..x30). */

/* struct ctx_state, in main.c */
#define S_X		0	/* u64 x[10]: x19..x28 */
#define S_V		80	/* u64 v[16]: v8..v15, low then high half */
#define S_FPCR		208
#define S_ITER		216
#define S_GAP		224
#define S_SWITCHES	232
#define S_BAD_REG	240
#define S_BAD_GOT	248
#define S_SP		256

#define CTX_V		10	/* v8 low half; v8 high half is 11, v9 low 12, ... */
#define CTX_FPCR	26
#define CTX_SP		27
#define CTX_HVC		28	/* x0 after PSCI_VERSION */

	.macro	checkx reg, idx
	ldr	x0, [x29, #(S_X + 8 * \idx)]
	mov	x2, \reg
	mov	x1, #\idx
	cmp	x2, x0
	b.ne	bad
	.endm

	.macro	checkv n, idx
	fmov	x2, d\n
	ldr	x0, [x29, #(S_V + 16 * \idx)]
	mov	x1, #(CTX_V + 2 * \idx)
	cmp	x2, x0
	b.ne	bad
	mov	x2, v\n\().d[1]
	ldr	x0, [x29, #(S_V + 16 * \idx + 8)]
	mov	x1, #(CTX_V + 2 * \idx + 1)
	cmp	x2, x0
	b.ne	bad
	.endm

	.text
	.global	ctx_run
	.type	ctx_run, %function
ctx_run:
	stp	x29, x30, [sp, #-160]!
	stp	x19, x20, [sp, #16]
	stp	x21, x22, [sp, #32]
	stp	x23, x24, [sp, #48]
	stp	x25, x26, [sp, #64]
	stp	x27, x28, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mov	x29, x0
	mov	x1, sp
	str	x1, [x29, #S_SP]

	/* fill */
	ldp	x19, x20, [x29, #(S_X + 0)]
	ldp	x21, x22, [x29, #(S_X + 16)]
	ldp	x23, x24, [x29, #(S_X + 32)]
	ldp	x25, x26, [x29, #(S_X + 48)]
	ldp	x27, x28, [x29, #(S_X + 64)]
	ldp	q8, q9, [x29, #(S_V + 0)]
	ldp	q10, q11, [x29, #(S_V + 32)]
	ldp	q12, q13, [x29, #(S_V + 64)]
	ldp	q14, q15, [x29, #(S_V + 96)]
	ldr	x0, [x29, #S_FPCR]
	msr	fpcr, x0
	isb
	ldr	x30, [x29, #S_ITER]
	mrs	x18, cntvct_el0

loop:
	/* an exit on every iteration: PSCI_VERSION */
	mov	x0, #0x84000000
	hvc	#0
	mov	x2, x0
	mov	x1, #CTX_HVC
	movz	x0, #0x1
	movk	x0, #0x1, lsl #16	/* PSCI 1.1 */
	cmp	x2, x0
	b.ne	bad

	/* busy work in the registers nobody checks */
	mov	x2, #64
	mov	x3, x30
	mov	x4, #0x9e37
	fmov	d0, x3
	dup	v1.2d, x4
	scvtf	v1.2d, v1.2d
1:	mul	x5, x3, x4
	eor	x3, x5, x3, lsr #7
	add	x6, x3, x2
	eor	x7, x6, x5
	ror	x8, x7, #13
	add	x9, x8, x3
	eor	x10, x9, x2
	add	x11, x10, x4
	eor	x12, x11, x3
	add	x13, x12, x5
	eor	x14, x13, x6
	add	x15, x14, x7
	eor	x16, x15, x8
	add	x17, x16, x9
	fadd	v0.2d, v0.2d, v1.2d
	fmul	v2.2d, v0.2d, v1.2d
	fdiv	v3.2d, v2.2d, v1.2d
	eor	v4.16b, v3.16b, v2.16b
	add	v5.4s, v4.4s, v0.4s
	mov	v16.16b, v5.16b
	fsqrt	v17.2d, v2.2d
	eor	v31.16b, v17.16b, v16.16b
	subs	x2, x2, #1
	b.ne	1b

	/* was this vCPU off its CPU since the previous iteration? */
	isb
	mrs	x0, cntvct_el0
	sub	x1, x0, x18
	mov	x18, x0
	ldr	x2, [x29, #S_GAP]
	cmp	x1, x2
	b.ls	2f
	ldr	x3, [x29, #S_SWITCHES]
	add	x3, x3, #1
	str	x3, [x29, #S_SWITCHES]
2:
	/* check */
	checkx	x19, 0
	checkx	x20, 1
	checkx	x21, 2
	checkx	x22, 3
	checkx	x23, 4
	checkx	x24, 5
	checkx	x25, 6
	checkx	x26, 7
	checkx	x27, 8
	checkx	x28, 9
	checkv	8, 0
	checkv	9, 1
	checkv	10, 2
	checkv	11, 3
	checkv	12, 4
	checkv	13, 5
	checkv	14, 6
	checkv	15, 7
	mrs	x2, fpcr
	ldr	x0, [x29, #S_FPCR]
	mov	x1, #CTX_FPCR
	cmp	x2, x0
	b.ne	bad
	mov	x2, sp
	ldr	x0, [x29, #S_SP]
	mov	x1, #CTX_SP
	cmp	x2, x0
	b.ne	bad

	subs	x30, x30, #1
	b.ne	loop
	mov	x0, #0
	b	out

bad:	/* x1 = which register, x2 = its value */
	str	x1, [x29, #S_BAD_REG]
	str	x2, [x29, #S_BAD_GOT]
	mov	x0, #1
out:
	ldp	x19, x20, [sp, #16]
	ldp	x21, x22, [sp, #32]
	ldp	x23, x24, [sp, #48]
	ldp	x25, x26, [sp, #64]
	ldp	x27, x28, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	ldp	x29, x30, [sp], #160
	ret
	.size	ctx_run, . - ctx_run
