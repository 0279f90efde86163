"""Destroying the VMs of a shared-memory channel (configs/ivc_mgmt.dts): the management VM
destroys 'quiet', the rung end of channel 'flood'; 'flood' keeps its region, and when it is
rebooted and rings its doorbell 1000000 times again, nobody hears it (the hypervisor says so
once), not even a VM created meanwhile in quiet's old slot. Destroying 'flood' too gives the
64 KiB region back: the hypervisor's free memory grows by exactly 64 KiB more than it did for
'quiet', a VM of the same shape."""

from helpers import assert_clean, assert_consecutive, last_tick, ticks, wait_tick
from test_mgmt import MgmtShell, requires_mgmt

pytestmark = requires_mgmt

DONE = "ivcflood: done 1000000 rings"
QUIET_GONE = ("channel 'flood': vm 'quiet' destroyed; vm 'flood' keeps the region, its "
              "doorbell rings nobody now")
NOBODY = ("vm 'flood': doorbell of channel 'flood' rung: its peer was destroyed, nobody hears "
          "it (said once)")
BOTH_GONE = ("channel 'flood': both its VMs destroyed; its 64 KiB region scrubbed and returned "
             "to the hypervisor")


def test_destroy_both_ends_of_a_channel(system):
    con = system("ivc_mgmt")
    sh = MgmtShell(con, "mgmt")
    sh.wait_ready()
    sh.setup()
    con.wait_until(lambda: con.lines("flood").count(DONE) == 1, "flood's 1000000 rings", 120)
    assert con.lines("quiet") == ["ivcflood: peer waiting"]
    vms = sh.vms()
    assert {n: (v["id"], v["state"]) for n, v in vms.items()} == {
        "mgmt": (0, "running"), "flood": (1, "running"), "quiet": (2, "running")}

    # one end: destroyed (a channel no longer pins its VMs), the other keeps running
    free0 = sh.hyp_free()
    assert sh.bhctl("destroy quiet")[-1] == "bhctl: vm 2 'quiet' destroyed"
    d_quiet = sh.hyp_free() - free0
    assert d_quiet >= 16 << 20, d_quiet  # its RAM at least
    assert con.lines("hyp").count(QUIET_GONE) == 1
    assert set(sh.vms()) == {"mgmt", "flood"}

    # a new VM takes quiet's slot; flood, rebooted, rings its doorbell a million times into
    # nothing: one line says so, the new VM ticks on undisturbed
    assert sh.bhctl("create /guests/ticker.dts")[-1] == "bhctl: vm 2 'ticker' created and started"
    wait_tick(con, "ticker", 3)
    sh.bhctl("reboot flood")
    con.wait_until(lambda: con.lines("flood").count(DONE) == 2, "flood's rings after reboot",
                   120)
    assert con.lines("hyp").count(NOBODY) == 1, [t for t in con.lines("hyp") if "flood" in t]
    n = last_tick(con, "ticker")
    wait_tick(con, "ticker", n + 2)
    assert_consecutive(ticks(con, "ticker"), "ticker")

    # the other end: the channel's region goes back with it
    free1 = sh.hyp_free()
    assert sh.bhctl("destroy flood")[-1] == "bhctl: vm 1 'flood' destroyed"
    d_flood = sh.hyp_free() - free1
    assert con.lines("hyp").count(BOTH_GONE) == 1
    assert d_flood - d_quiet == 64 << 10, (d_flood, d_quiet)
    assert {n: v["id"] for n, v in sh.vms().items()} == {"mgmt": 0, "ticker": 2}
    assert sh.bhctl("destroy ticker")[-1] == "bhctl: vm 2 'ticker' destroyed"
    assert not [t for t in con.lines("hyp") if "refused" in t or "unhandled" in t]
    assert_clean(con)
