"""Hostile guests against the virtual network (configs/hostile_net.dts): the two Linux VMs of
test_virtio_net.py on switch "lan0", and a bare-metal VM (guests/nethostile) with a port of its
own and a witness port on the same switch, a disk and a doorbell to net-a. Its vCPU 0 attacks
in rounds, for ever: broken transmit and receive rings, spoofed source addresses, frames of
illegal sizes, broadcast floods, a broken disk ring; its vCPU 1 writes QueueNotify of every
queue and rings the doorbell in a tight loop.

Round 1 is checked line by line (each broken ring: NEEDS_RESET, one console report, recovery;
the witness receives no spoofed or malformed frame, and of a 1000-frame broadcast flood only
what the switch's storm control lets through: a burst of 64, then 1000 frames a second).
Then, while the attacks go on, the Linux VMs answer their consoles, `ping -c 20` between them
loses nothing, a 4 MiB file moved with nc keeps its checksum, and neither kernel received a
frame of the spoofed kind (EtherType 0x88b5, for which Linux has no handler: each one delivered
would raise /sys/class/net/eth0/statistics/rx_nohandler). The attacker's rounds must advance
meanwhile, and its console output stays small (summaries at most every 3 s, 20 reports).
"""

import re

from helpers import assert_clean, started_pcpus
from test_linux_qemu import LinuxShell, requires_linux
from test_virtio_net import IP, LISTEN, VMS, bring_up, check_kernel_log
from test_virtio_net import switch_to as net_switch_to

pytestmark = requires_linux

HOSTILE = "nhostile"
RESULT = re.compile(r"^nethostile: ([a-z0-9-]+): (.*): (ok|FAIL)$")
ROUND = re.compile(r"^nethostile: round (\d+): needs-reset (\d+)/(\d+), spoofed (\d+) "
                   r"leaked (\d+), flood (\d+)/(\d+), failures (\d+)$")
FLOOD = re.compile(r"^nethostile: flood: (\d+) notifies and rings$")
BROKEN = ["tx-loop", "tx-outside-ram", "tx-across-ram-end", "tx-huge-length", "tx-index-ahead",
          "tx-head-range", "rx-loop", "rx-outside-ram", "rx-huge-length", "rx-index-ahead",
          "blk-loop"]
CHECKS = (["setup", "good", "spoofed", "sizes"]
          + [t for tag in BROKEN for t in (tag, tag + "-recovered")] + ["flood"])
# The hypervisor's report for each broken ring of round 1, in order (virtqueue.c's words).
REPORTS = [
    r"virtio-net@0: queue 1: the chain from head 0 has more than 8 descriptors \(a loop\?\)",
    r"virtio-net@0: queue 1: descriptor 0: buffer 0x30000000\+0x[0-9a-f]+ is outside the VM's RAM",
    r"virtio-net@0: queue 1: descriptor 0: buffer 0x40ffffc0\+0x80 is outside the VM's RAM",
    r"virtio-net@0: queue 1: descriptor 0: length 0xffffff00 makes the chain longer than 16 MiB",
    r"virtio-net@0: queue 1: available index \d+ is 1000 entries ahead of the device's \d+ "
    r"\(queue size 8\)",
    r"virtio-net@0: queue 1: available ring entry \d+: head 200 is not below the queue size 8",
    r"virtio-net@0: queue 0: the chain from head 0 has more than 8 descriptors \(a loop\?\)",
    r"virtio-net@0: queue 0: descriptor 0: buffer 0x30000000\+0x800 is outside the VM's RAM",
    r"virtio-net@0: queue 0: descriptor 0: length 0xfffff000 makes the chain longer than 16 MiB",
    r"virtio-net@0: queue 0: available index 1000 is 1000 entries ahead of the device's 0 "
    r"\(queue size 8\)",
    r"virtio-blk@2: queue 0: the chain from head 0 has more than 8 descriptors \(a loop\?\)",
]


ALL_VMS = VMS + (HOSTILE,)  # file order: the console focus cycles this way


def switch_to(con, name, focus):
    return net_switch_to(con, name, focus, ALL_VMS)


def rounds(con):
    return [tuple(int(g) for g in m.groups()) for m in map(ROUND.match, con.lines(HOSTILE)) if m]


def statistic(sh, name):
    out = sh.run(f"cat /sys/class/net/eth0/statistics/{name}")
    assert len(out) == 1 and out[0].isdigit(), out
    return int(out[0])


def test_hostile_guest_on_the_switch(system):
    con = system("hostile_net")
    assert started_pcpus(con, 2, HOSTILE) == [3, 3]

    # -- round 1, check by check
    done = con.wait_for(r"^\[nhostile\] nethostile: done (\d+) checks, (\d+) failures$",
                        timeout=120)
    results = {}
    for text in con.lines(HOSTILE):
        m = RESULT.match(text)
        if m:
            assert m.group(1) not in results, f"{m.group(1)} reported twice"
            results[m.group(1)] = (m.group(2), m.group(3))
    failed = [f"{t}: {w}" for t, (w, r) in results.items() if r != "ok"]
    assert not failed, "the hostile guest's own checks failed:\n" + "\n".join(failed)
    assert list(results) == CHECKS
    assert (int(done.group(1)), int(done.group(2))) == (len(CHECKS), 0)
    for tag in BROKEN:  # NEEDS_RESET with DRIVER_OK and FEATURES_OK ...
        assert results[tag][0] == "status 0x4f", (tag, results[tag])
    assert results["spoofed"][0] == ("576 sent, 576 used, 0 reached the witness, "
                                     "good frame after: arrived")
    assert results["sizes"][0].startswith("0, 12, 25, 1527 and 70012 bytes: 5 used, "
                                          "0 delivered, status 0xf")
    m = re.match(r"1000 broadcast frames sent, 1000 used, (\d+) reached the witness "
                 r"\((\d+) others' frames\)", results["flood"][0])
    # storm control (vswitch.c): a burst of 64 flooded frames, then 1000 a second
    assert m and 64 <= int(m.group(1)) < 1000, results["flood"]

    # one report per broken ring of round 1, in order (later rounds: over the VM's 20)
    hyp = con.lines("hyp")
    reports = [t for t in hyp if t.startswith(f"vm '{HOSTILE}': virtio-") and "needs reset" in t]
    for text, why in zip(reports, REPORTS):
        assert re.fullmatch(rf"vm '{HOSTILE}': {why}; device needs reset", text), text
    assert len(reports) >= len(REPORTS), "\n".join(reports)

    # -- the Linux VMs, while the attacks go on
    for i, vm in enumerate(VMS):
        assert started_pcpus(con, i, vm) == [i + 1]
    a, b = LinuxShell(con, "net-a"), LinuxShell(con, "net-b")
    a.wait_ready()
    b.wait_ready()
    con.wait_for(r"^\[nhostile\] nethostile: flood: \d+ notifies and rings$")
    # A host this loaded makes the kernel print "hrtimer: interrupt took N ns" (a warning):
    # console messages off, so that none lands in a command's output (dmesg is checked later).
    focus = "net-a"
    a.run("dmesg -n 1")
    bring_up(a, "net-a")
    focus = switch_to(con, "net-b", focus)
    b.run("dmesg -n 1")
    bring_up(b, "net-b")
    round_before = rounds(con)[-1][0]

    out = b.run(f"ping -c 20 -i 0.2 {IP['net-a']}", timeout=120)
    assert any("20 packets transmitted, 20 packets received, 0% packet loss" in t
               for t in out), out
    assert b.run(LISTEN) == ["listening"]
    focus = switch_to(con, "net-a", focus)
    out = a.run(f"ping -c 20 -i 0.2 {IP['net-b']}", timeout=120)
    assert any("20 packets transmitted, 20 packets received, 0% packet loss" in t
               for t in out), out
    a.run("dd if=/dev/urandom of=/tmp/f bs=1M count=4 2>/dev/null")
    sent = a.run("md5sum /tmp/f")
    out = a.run(f"nc -w 5 {IP['net-b']} 5000 < /tmp/f; echo nc $?", timeout=120)
    assert out[-1:] == ["nc 0"], out
    nohandler_a = statistic(a, "rx_nohandler")
    check_kernel_log(a)
    focus = switch_to(con, "net-b", focus)
    got = b.run("wait; md5sum /tmp/f", timeout=120)
    assert got[0].split()[0] == sent[0].split()[0], (sent, got)
    nohandler_b = statistic(b, "rx_nohandler")
    check_kernel_log(b)

    # -- the attacks went on meanwhile, and changed nothing
    last = rounds(con)[-1]
    assert last[0] > round_before, f"no attack round ended during the Linux checks: {last}"
    for r in rounds(con):
        num, resets, expected, spoofed, leaked, got_flood, flood, failures = r
        assert (resets, expected, leaked, failures) == (11, 11, 0, 0), r
        assert spoofed == 576 * num, r
    # spoofed frames (EtherType 0x88b5) reached neither kernel: rounds after round 1 sent
    # 576 each while their links were up; one would count here
    assert (nohandler_a, nohandler_b) == (0, 0)
    floods = [int(m.group(1)) for m in map(FLOOD.match, con.lines(HOSTILE)) if m]
    assert floods and floods[-1] > 10000, floods
    # the console is not flooded: at most 20 reports for the VM, summaries rate-limited
    assert len([t for t in hyp if t.startswith(f"vm '{HOSTILE}'")]) <= 21
    assert len(con.lines(HOSTILE)) < 40 + len(CHECKS) + 2 * (len(rounds(con)) + len(floods))
    assert con.running
    assert not [t for t in con.lines("hyp") if "stopped" in t]
    assert_clean(con)
