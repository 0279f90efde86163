"""Shared-memory channels (ivc): two VMs ping-pong 10000 messages with sequence numbers and
checksums over one channel, none lost or corrupt; and the same while a third VM rings the doorbell
of its own channel 1000000 times in a tight loop, with nothing on the hypervisor's console per
ring."""

import re

from helpers import assert_clean, started_pcpus

MSGS = 10000
DONE = r"^ivc: done (\d+) messages, (\d+) lost, (\d+) corrupt, (\d+) doorbells$"


def check_pair(con):
    """alpha (role 0) and beta (role 1) both finish all messages, none lost or corrupt."""
    for vm in ("alpha", "beta"):
        con.wait_for(rf"^\[{vm}\] ivc: done ", 60)
    for vm, role in (("alpha", 0), ("beta", 1)):
        lines = con.lines(vm)
        assert lines[0] == f"ivc: role {role} channel 0 size 0x10000 intid 80", lines[:3]
        progress = con.numbers(vm, r"^ivc: (\d+) messages$")
        assert progress == list(range(1000, MSGS + 1, 1000)), f"{vm}: {progress}"
        done = [re.match(DONE, t) for t in lines if t.startswith("ivc: done")]
        assert len(done) == 1 and done[0], f"{vm}: {lines[-3:]}"
        msgs, lost, corrupt, doorbells = map(int, done[0].groups())
        assert (msgs, lost, corrupt) == (MSGS, 0, 0), f"{vm}: {done[0].group(0)}"
        # every message was answered after a doorbell; edges may merge, but not many
        assert MSGS // 2 <= doorbells <= MSGS, f"{vm}: {doorbells} doorbells"


def test_ivc_ping_pong(system):
    con = system("ivc")
    assert started_pcpus(con, 0, "alpha") == [1]
    assert started_pcpus(con, 1, "beta") == [2]
    con.wait_for(
        r"^\[hyp\] channel 0 'chan0': 64 KiB at IPA 0x20000000 shared by 'alpha' and 'beta', "
        r"doorbell 0x20010000 \(INTID 80\)$"
    )
    check_pair(con)
    assert_clean(con)


def test_ivc_doorbell_flood(system):
    con = system("ivc_flood")
    assert started_pcpus(con, 2, "flood") == [3]
    assert started_pcpus(con, 3, "quiet") == [3]
    con.wait_for(r"^\[hyp\] channel 1 'flood': 64 KiB at IPA 0x20000000 shared by 'flood' and "
                 r"'quiet', doorbell 0x20010000 \(INTID 81\)$")
    con.wait_for(r"^\[flood\] ivcflood: ringing$")
    con.wait_for(r"^\[quiet\] ivcflood: peer waiting$")
    check_pair(con)
    con.wait_for(r"^\[flood\] ivcflood: done 1000000 rings$", 60)
    # the hypervisor said nothing after its start-up lines: no line per ring, no report
    hyp = [t for tag, t in con.lines() if tag == "hyp"]
    last_startup = max(i for i, t in enumerate(hyp) if t.startswith("console input ->"))
    assert hyp[last_startup + 1:] == [], hyp[last_startup + 1:]
    assert len(hyp) < 20, hyp
    assert_clean(con)
