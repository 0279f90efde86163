"""Two Linux VMs joined by the hypervisor's virtual switch (configs/linux_net.dts): each has a
virtio-net port on switch "lan0" (MACs 52:54:00:12:34:01 and :02). Debian's virtio_mmio and
virtio_net drivers find them with the configured addresses and link up; the VMs ping each other
both ways (0% loss), then a 16 MiB random file goes from net-a to net-b over TCP (busybox nc)
and arrives whole (md5sum). The kernel logs stay clean and no device needs a reset.

Needs build/linux/ (`make linux`); skipped without it. The shell helper is in test_linux_qemu.py.
"""

import re
import time

from helpers import assert_clean, started_pcpus
from test_linux_qemu import BAD_KERNEL, LinuxShell, requires_linux

pytestmark = requires_linux

VMS = ("net-a", "net-b")  # file order: the console focus cycles this way
MAC = {"net-a": "52:54:00:12:34:01", "net-b": "52:54:00:12:34:02"}
IP = {"net-a": "10.0.0.1", "net-b": "10.0.0.2"}
# Starts `nc -l -p 5000 > /tmp/f` in the background and waits (up to 10 s of guest time) until
# it listens: port 5000 (0x1388) in state LISTEN (0A) in /proc/net/tcp or tcp6. Prints
# "listening".
_LISTENING = "grep -qsE ':1388 0+:0000 0A' /proc/net/tcp /proc/net/tcp6"
LISTEN = (f"nc -l -p 5000 > /tmp/f & i=0; until {_LISTENING} || [ $i -ge 100 ]; do sleep 0.1; "
          f"i=$((i+1)); done; {_LISTENING} && echo listening")
# Waits (up to 10 s of guest time) until eth0 exists.
WAIT_ETH = ("i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.2; "
            "i=$((i+1)); done")


def switch_to(con, name, focus, order=VMS):
    """Presses Ctrl-A three times until the input focus is on `name`; returns it. `order`: the
    system's VMs in file order (the way the focus cycles)."""
    while focus != name:
        seen = len([t for t in con.lines("hyp") if t.startswith("console input -> ")])
        con.send(b"\x01\x01\x01")
        nxt = order[(order.index(focus) + 1) % len(order)]
        con.wait_until(
            lambda: len([t for t in con.lines("hyp") if t.startswith("console input -> ")])
            > seen,
            f"[hyp] console input -> '{nxt}'",
        )
        focus = nxt
    return focus


def bring_up(sh, vm):
    out = sh.run(f"modprobe virtio_mmio && modprobe virtio_net && {WAIT_ETH}; "
                 "cat /sys/class/net/eth0/address")
    assert out == [MAC[vm]], out
    # the ring features are negotiated: INDIRECT_DESC (28), EVENT_IDX (29), VERSION_1 (32)
    bits = sh.run("cat /sys/class/net/eth0/device/features")
    assert len(bits) == 1 and bits[0][28] + bits[0][29] + bits[0][32] == "111", bits
    sh.run(f"ip link set eth0 up; ip addr add {IP[vm]}/24 dev eth0")
    # the link is up (VIRTIO_NET_S_LINK_UP)
    out = sh.run("i=0; while [ $(cat /sys/class/net/eth0/operstate) != up ] && [ $i -lt 50 ]; "
                 "do sleep 0.2; i=$((i+1)); done; "
                 "cat /sys/class/net/eth0/operstate /sys/class/net/eth0/carrier")
    assert out == ["up", "1"], out


def ping(sh, ip):
    out = sh.run(f"ping -c 3 {ip}", timeout=120)
    assert any(re.search(r"3 packets transmitted, 3 packets received, 0% packet loss", t)
               for t in out), out
    return [t for t in out if "round-trip" in t]


def check_kernel_log(sh):
    bad = [t for t in sh.run("dmesg") if BAD_KERNEL.search(t)]
    assert not bad, "kernel log:\n" + "\n".join(bad)


def test_linux_virtio_net(system):
    con = system("linux_net")
    for i, vm in enumerate(VMS):
        con.wait_for(rf"^\[hyp\] vm '{vm}': virtio-net@0 at 0xa000000 \(INTID 48\): "
                     rf"{MAC[vm]} on switch 'lan0'$")
        assert started_pcpus(con, i, vm) == [i + 1]
    a, b = LinuxShell(con, "net-a"), LinuxShell(con, "net-b")
    a.wait_ready()
    b.wait_ready()

    focus = "net-a"
    bring_up(a, "net-a")
    focus = switch_to(con, "net-b", focus)
    bring_up(b, "net-b")

    # -- ping both ways
    rtt_b = ping(b, IP["net-a"])
    focus = switch_to(con, "net-a", focus)
    rtt_a = ping(a, IP["net-b"])
    print("ping b->a:", rtt_b, "a->b:", rtt_a)

    # -- 16 MiB over TCP: net-b listens, net-a sends
    a.run("dd if=/dev/urandom of=/tmp/f bs=1M count=16 2>/dev/null; sync", timeout=120)
    sent = a.run("md5sum /tmp/f")
    focus = switch_to(con, "net-b", focus)
    assert b.run(LISTEN) == ["listening"]
    focus = switch_to(con, "net-a", focus)
    t0 = time.monotonic()
    out = a.run(f"nc -w 5 {IP['net-b']} 5000 < /tmp/f; echo nc $?", timeout=600)
    elapsed = time.monotonic() - t0
    assert out[-1:] == ["nc 0"], out
    focus = switch_to(con, "net-b", focus)
    got = b.run("wait; md5sum /tmp/f; ls -l /tmp/f | tr -s ' ' | cut -d' ' -f5", timeout=120)
    print(f"16 MiB in {elapsed:.1f} s: {16 / elapsed:.2f} MiB/s (host time, with TCG)")
    assert got[0].split()[0] == sent[0].split()[0], (sent, got)
    assert got[1] == str(16 * 1024 * 1024), got

    check_kernel_log(b)
    focus = switch_to(con, "net-a", focus)
    check_kernel_log(a)
    assert con.running
    assert not [t for t in con.lines("hyp") if "needs reset" in t or "stopped" in t]
    assert_clean(con)
