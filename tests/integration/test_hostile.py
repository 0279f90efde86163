"""A hostile guest (bad device accesses, a jump out of RAM, hidden features, the EL1 physical
timer, a flood of aborts, PSCI calls with bad arguments) gets the architected fault or error for
each attempt and runs on; the hypervisor rate-limits its fault reports; a ticker VM on another
physical CPU is not disturbed."""

import re

from helpers import check_results, assert_clean, last_tick, started_pcpus, wait_tick

VM = "hostile"
UART_DR = 0x09000000
NOT_RAM = 0x30000000
HOLE = 0x20000000
FAULT_REPORTS_MAX = 20  # hyp/core/vm.c: per VM, then one "suppressed" line

RESULT = re.compile(r"^hostile: ([a-z0-9-]+): (.*): (ok|FAIL)$")
FAULT = re.compile(r"^fault esr (0x[0-9a-f]+) far (0x[0-9a-f]+) \(expected [^)]*\)$")
REPORT = re.compile(rf"^vm '{VM}' vcpu 0: (.*)$")
SUPPRESSED = f"vm '{VM}': further fault reports suppressed"


def fault(what, tag):
    """(esr, far) of a "fault esr ... far ..." result."""
    m = FAULT.match(what)
    assert m, f"{tag}: no fault: {what}"
    return int(m.group(1), 16), int(m.group(2), 16)


def ec(esr):
    return (esr >> 26) & 0x3F


def test_hostile_guest_is_contained(system):
    con = system("hostile")
    assert started_pcpus(con, 0, VM) == [1, 1]
    assert started_pcpus(con, 1, "ticker-vm") == [2]
    done = con.wait_for(r"^\[hostile\] hostile: done (\d+) checks, (\d+) failures$", timeout=30)
    ticks_at_done = last_tick(con, "ticker-vm")

    results = check_results(con, VM, RESULT)
    assert (int(done.group(1)), int(done.group(2))) == (len(results), 0) == (17, 0)
    what = {tag: w for tag, (w, _) in results.items()}

    # (a), (b): 8-byte read and LDP of the vUART: synchronous external abort, read, FAR = DR
    for tag in ("a-uart-ldr64", "b-uart-ldp"):
        esr, far = fault(what[tag], tag)
        assert (ec(esr), esr & 0x3F, bool(esr & (1 << 6)), far) == (0x25, 0x10, False, UART_DR), (
            f"{tag}: esr {esr:#x} far {far:#x}"
        )
    # (c): instruction abort at the same EL, external, FAR = the branch target
    esr, far = fault(what["c-jump"], "c-jump")
    assert (ec(esr), esr & 0x3F, far) == (0x21, 0x10, NOT_RAM), f"c-jump: {esr:#x} {far:#x}"
    # (d): PMU reads as zero; SVE, SME hidden from the ID registers
    assert what["d-pmcr"].startswith("0x0, no fault")
    pfr0 = int(re.match(r"^(0x[0-9a-f]+) sve", what["d-pfr0"]).group(1), 16)
    pfr1 = int(re.match(r"^(0x[0-9a-f]+) sme", what["d-pfr1"]).group(1), 16)
    assert (pfr0 >> 32) & 0xF == 0, f"ID_AA64PFR0_EL1 {pfr0:#x} shows SVE"
    assert (pfr1 >> 24) & 0xF == 0, f"ID_AA64PFR1_EL1 {pfr1:#x} shows SME"
    assert what["d-zfr0"] == "0x0"
    # (e): SVE instruction: undefined instruction (EC 0x00, IL)
    esr, _ = fault(what["e-sve"], "e-sve")
    assert esr == 0x02000000, f"e-sve: esr {esr:#x}"
    # (f): the emulated EL1 physical timer: enabled+masked reads back 3, ISTATUS rises, no fault
    m = re.match(r"^tval (0x[0-9a-f]+) ctl 0x3 then 0x7, counter past cval 1, faults 0$",
                 what["f-cntp"])
    assert m and 0 < int(m.group(1), 16) <= 62500, what["f-cntp"]
    # (g): every one of the 100000 reads faulted
    assert re.match(rf"^100000 reads of {HOLE:#x}, 100000 faults, first esr 0x96000010$",
                    what["g-flood"]), what["g-flood"]
    # (h): PSCI/SMCCC error codes; SMC works as HVC does
    assert what["h-cpu-on-entry"].startswith(f"cpu_on(0x1, {NOT_RAM:#x}) = -9 ")
    assert what["h-cpu-on-past-ram"].startswith("cpu_on(0x1, 0x41000000) = -9 ")
    assert what["h-cpu-on-unaligned"].startswith("cpu_on(0x1, 0x40080002) = -9 ")
    assert what["h-cpu1-still-off"].startswith("affinity_info(0x1, 0) = 1 ")
    assert what["h-affinity-level1"].startswith("affinity_info(0x0, 1) = -2 ")
    assert what["h-unknown-fid"].startswith("0x8600abcd = -1 by hvc, -1 by smc ")
    assert what["h-smc-version"].startswith("smc 0x10001, hvc 0x10001 ")

    # the hypervisor's reports: one per fault up to its limit, then one "suppressed" line
    hyp = con.lines("hyp")
    reports = [m.group(1) for m in map(REPORT.match, hyp) if m]
    assert hyp.count(SUPPRESSED) == 1, "no (or more than one) 'suppressed' line"
    assert len(reports) <= FAULT_REPORTS_MAX, f"{len(reports)} fault reports for {VM}"
    after = hyp[hyp.index(SUPPRESSED) + 1:]
    assert not [t for t in after if REPORT.match(t)], "fault reports after 'suppressed'"
    assert re.match(r"^data abort at IPA 0x9000000 \(read of 8 bytes, pc 0x[0-9a-f]+\): "
                    r"refused by the device; external abort injected$", reports[0]), reports[0]
    assert re.match(r"^data abort at IPA 0x9000000 \(pc 0x[0-9a-f]+\): device access without "
                    r"a valid syndrome", reports[1]), reports[1]
    assert reports[2] == (f"instruction fetch from IPA {NOT_RAM:#x} (pc {NOT_RAM:#x}): not RAM; "
                          "external abort injected"), reports[2]
    flood = reports[3:]  # the emulated physical timer (f) causes no report
    assert flood and all(
        re.match(rf"^data abort at IPA {HOLE:#x} \(read, pc 0x[0-9a-f]+\): no RAM or device "
                 r"there; external abort injected$", t) for t in flood
    ), "\n".join(flood)

    # both VMs run on: the ticker ticks 10 more times, the hostile guest starts ticking
    wait_tick(con, "ticker-vm", ticks_at_done + 10)
    wait_tick(con, VM, 3)
    assert not [t for t in hyp if "stopped" in t]
    assert_clean(con)
