"""A vCPU that never exits does not starve another vCPU of the same priority on its pCPU."""

from helpers import assert_clean, assert_consecutive, started_pcpus, ticks, wait_tick


def test_spinning_vm_does_not_starve_ticker(system):
    con = system("spin")
    assert started_pcpus(con, 0, "spin-vm") == [1]
    assert started_pcpus(con, 1, "ticker-vm") == [1]
    con.wait_for(r"^\[spin-vm\] spin: start$")
    wait_tick(con, "ticker-vm", 20)
    assert_consecutive(ticks(con, "ticker-vm"), "ticker-vm")
    assert_clean(con)
