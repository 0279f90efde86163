"""PSCI SYSTEM_RESET restarts the calling VM (its image reloaded, RAM below it kept)."""

from helpers import assert_clean, last_tick, wait_tick


def test_system_reset_restarts_vm(system):
    con = system("reset")
    con.expect(r"^\[reset-vm\] reset: boot 1$")
    con.expect(r"^\[hyp\] vm 'reset-vm': reset \(PSCI SYSTEM_RESET\)")
    con.expect(r"^\[reset-vm\] reset: boot 2$")
    con.expect(r"^\[reset-vm\] reset: done$")
    wait_tick(con, "reset-vm", 5)
    wait_tick(con, "ticker-vm", last_tick(con, "ticker-vm") + 10)
    boots = [t for t in con.lines("reset-vm") if t.startswith("reset: boot")]
    assert boots == ["reset: boot 1", "reset: boot 2"], boots
    assert_clean(con)
