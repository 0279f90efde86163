"""Accesses outside a VM's RAM and devices get a synchronous external abort injected; the guest
handles it and runs on, and the other VM is not disturbed."""

import re

from helpers import assert_clean, last_tick, wait_tick

HOLE = 0x20000000  # neither RAM nor a device of the VM
PAST_RAM = 0x40000000 + 16 * 1024 * 1024  # first byte after the VM's 16 MiB

HYP_ABORT = re.compile(
    r"^\[hyp\] vm 'abort-vm' vcpu 0: data abort at IPA (0x[0-9a-fA-F]+)\b.*external abort injected"
)
GUEST_ABORT = re.compile(r"^abort: esr (0x[0-9a-f]+) far (0x[0-9a-f]+)$")


def test_abort_injected(system):
    con = system("abort")
    con.wait_for(r"^\[abort-vm\] abort: done\b")
    before = last_tick(con, "ticker-vm")

    hyp = [int(m.group(1), 16) for m in map(HYP_ABORT.match, con.all_lines()) if m]
    guest = [
        (int(m.group(1), 16), int(m.group(2), 16))
        for m in map(GUEST_ABORT.match, con.lines("abort-vm"))
        if m
    ]
    assert hyp == [HOLE, PAST_RAM], f"hypervisor reported aborts at {[hex(a) for a in hyp]}"
    assert len(guest) == 2, f"guest reported {guest}"

    for (esr, far), ipa, write in zip(guest, hyp, (False, True)):
        what = f"{'write' if write else 'read'} at {ipa:#x}: esr {esr:#x} far {far:#x}"
        assert far == ipa, what  # the hypervisor's and the guest's line agree
        assert (esr >> 26) & 0x3F == 0x25, what  # EC: data abort, same EL
        assert esr & 0x3F == 0x10, what  # DFSC: synchronous external abort
        assert bool(esr & (1 << 6)) == write, what  # WnR

    assert "abort: no fault" not in "\n".join(con.lines("abort-vm"))
    # both VMs keep running: the ticker ticks 10 more times, the abort guest ticks too
    wait_tick(con, "ticker-vm", before + 10)
    wait_tick(con, "abort-vm", 10)
    assert_clean(con)
