/* Trapped system register accesses. ID registers show the guest only the features Bulkhead
 * virtualizes (no SVE, SME, MTE, pointer authentication, PMU, trace, RAS, AMU); debug and PMU
 * registers read as zero and ignore writes; the rest is undefined for the guest, with a line
 * on the console. Handlers sit in a table keyed by the register's encoding. */
#include <arch/cpu.h>
#include <arch/sysreg.h>
#include <arch/vgic.h>
#include <bulkhead/vm.h>

/* The encoding fields of ISS for EC 0x18, without Rt and direction. */
#define SR(op0, op1, crn, crm, op2)                                                         \
	(((u32)(op0) << 20) | ((u32)(op2) << 17) | ((u32)(op1) << 14) | ((u32)(crn) << 10) | \
	 ((u32)(crm) << 1))
#define SR_KEY_MASK 0x3FFC1EU

#define FIELD_CLEAR(v, lo) ((v) & ~(0xFULL << (lo)))

/* Reads the real ID register with CRm crm and op2 op2 (op0 3, op1 0, CRn 0). */
#define ID_CASE(crm, op2)    \
	case ((crm) << 3) | (op2): \
		return read_sysreg(S3_0_C0_C##crm##_##op2);
#define ID_ROW(crm) ID_CASE(crm, 0) ID_CASE(crm, 1) ID_CASE(crm, 2) ID_CASE(crm, 3) \
	ID_CASE(crm, 4) ID_CASE(crm, 5) ID_CASE(crm, 6) ID_CASE(crm, 7)

static u64 read_id_hw(u32 crm, u32 op2)
{
	switch ((crm << 3) | op2) {
		ID_ROW(1) ID_ROW(2) ID_ROW(3) ID_ROW(4) ID_ROW(5) ID_ROW(6) ID_ROW(7)
	}
	return 0;
}

/* The guest's view of an ID register: the hardware's, minus what we do not virtualize. */
static u64 id_value(u32 crm, u32 op2)
{
	u64 v = read_id_hw(crm, op2);

	switch ((crm << 3) | op2) {
	case (1 << 3) | 2: /* ID_DFR0_EL1: PerfMon */
		return FIELD_CLEAR(v, 24);
	case (4 << 3) | 0: /* ID_AA64PFR0_EL1: RAS, SVE, MPAM, AMU */
		return FIELD_CLEAR(FIELD_CLEAR(FIELD_CLEAR(FIELD_CLEAR(v, 28), 32), 40), 44);
	case (4 << 3) | 1: /* ID_AA64PFR1_EL1: MTE, RAS_frac, MPAM_frac, SME, NMI */
		return FIELD_CLEAR(FIELD_CLEAR(FIELD_CLEAR(FIELD_CLEAR(FIELD_CLEAR(v, 8), 12), 16),
					       24), 36);
	case (4 << 3) | 4: /* ID_AA64ZFR0_EL1 */
	case (4 << 3) | 5: /* ID_AA64SMFR0_EL1 */
		return 0;
	case (5 << 3) | 0: /* ID_AA64DFR0_EL1: trace, PMU, SPE, trace filter/buffer, MTPMU, BRBE */
		v = FIELD_CLEAR(FIELD_CLEAR(v, 4), 8);
		return FIELD_CLEAR(FIELD_CLEAR(FIELD_CLEAR(FIELD_CLEAR(FIELD_CLEAR(v, 32), 40), 44),
					       48), 52);
	case (6 << 3) | 1: /* ID_AA64ISAR1_EL1: APA, API, GPA, GPI */
		return FIELD_CLEAR(FIELD_CLEAR(FIELD_CLEAR(FIELD_CLEAR(v, 4), 8), 24), 28);
	case (6 << 3) | 2: /* ID_AA64ISAR2_EL1: GPA3, APA3 */
		return FIELD_CLEAR(FIELD_CLEAR(v, 8), 12);
	case (7 << 3) | 1: /* ID_AA64MMFR1_EL1: LORegions */
		return FIELD_CLEAR(v, 16);
	}
	return v;
}

enum sr_action { SR_UNDEF, SR_OK };

static bool is_pmu(u32 op0, u32 op1, u32 crn, u32 crm, u32 op2)
{
	if (op0 != 3)
		return false;
	if (op1 == 3 && crn == 9 && crm >= 12)
		return true; /* PMCR_EL0 .. PMOVSSET_EL0, PMUSERENR_EL0 */
	if (op1 == 3 && crn == 14 && crm >= 8)
		return true; /* PMEVCNTR<n>_EL0, PMEVTYPER<n>_EL0 */
	return op1 == 0 && crn == 9 && crm == 14 && (op2 == 1 || op2 == 2); /* PMINTENSET/CLR */
}

/* Decides the result of one access; *val is the value read (reads) or written (writes). */
static enum sr_action emulate(struct vcpu *cur_vcpu, u32 key, bool read, u64 *val)
{
	u32 op0 = (key >> 20) & 3, op2 = (key >> 17) & 7, op1 = (key >> 14) & 7;
	u32 crn = (key >> 10) & 0xF, crm = (key >> 1) & 0xF;

	if (op0 == 3 && op1 == 0 && crn == 0 && crm >= 1 && crm <= 7) {
		if (!read)
			return SR_UNDEF;
		*val = id_value(crm, op2);
		return SR_OK;
	}
	if (op0 == 2 || is_pmu(op0, op1, crn, crm, op2) || key == SR(3, 0, 1, 0, 1)) {
		*val = 0; /* debug, PMU, ACTLR_EL1: read as zero, writes ignored */
		return SR_OK;
	}
	if (op0 == 3 && op1 == 3 && crn == 14 && crm == 2)
		return vptimer_access(cur_vcpu, op2, read, val) ? SR_OK : SR_UNDEF;
	/* ICC_SGI1R_EL1, ICC_ASGI1R_EL1, ICC_SGI0R_EL1: write-only, delivered by the vGIC. */
	if (key == SR(3, 0, 12, 11, 5) || key == SR(3, 1, 12, 11, 6) ||
	    key == SR(3, 2, 12, 11, 7)) {
		if (read)
			return SR_UNDEF;
		vgic_send_sgi(cur_vcpu, *val);
		return SR_OK;
	}
	/* Set/way cache maintenance (DC ISW, CSW, CISW): QEMU has no caches to maintain, so this
	 * is complete here; real hardware would need a clean of the VM's memory by address. */
	if (key == SR(1, 0, 7, 6, 2) || key == SR(1, 0, 7, 10, 2) || key == SR(1, 0, 7, 14, 2))
		return SR_OK;
	return SR_UNDEF;
}

void handle_sysreg(struct vcpu *v, u64 esr)
{
	u32 iss = (u32)ESR_ISS(esr);
	bool read = iss & 1;
	u32 rt = (iss >> 5) & 0x1F;
	u32 key = iss & SR_KEY_MASK;
	u64 val = read ? 0 : vcpu_get_reg(v->arch.regs.x, rt);

	if (emulate(v, key, read, &val) == SR_UNDEF) {
		vm_report(v, "%s of system register S%u_%u_C%u_C%u_%u at pc 0x%lx: not available to "
			  "guests; undefined instruction injected", read ? "read" : "write",
			  (key >> 20) & 3, (key >> 14) & 7, (key >> 10) & 0xF, (key >> 1) & 0xF,
			  (key >> 17) & 7, v->arch.regs.pc);
		inject_undef(v);
		return;
	}
	if (read && rt != 31)
		v->arch.regs.x[rt] = val;
	v->arch.regs.pc += 4;
}
