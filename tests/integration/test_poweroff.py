"""PSCI SYSTEM_OFF powers off the calling VM only."""

from helpers import assert_clean, last_tick, wait_tick


def test_system_off_stops_one_vm(system):
    con = system("poweroff")
    con.expect(r"^\[poweroff-vm\] poweroff: bye$")
    con.expect(r"^\[hyp\] vm 'poweroff-vm': powered off \(PSCI SYSTEM_OFF\)")
    wait_tick(con, "ticker-vm", last_tick(con, "ticker-vm") + 10)
    assert con.lines("poweroff-vm") == ["poweroff: bye"], con.lines("poweroff-vm")
    assert con.running, "QEMU exited: SYSTEM_OFF of one VM must not stop the machine"
    assert_clean(con)
