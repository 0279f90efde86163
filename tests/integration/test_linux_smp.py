"""One Linux VM with 2 vCPUs under Bulkhead (configs/linux_smp.dts): Debian's kernel boots to
the busybox shell, sees both CPUs, gets timer interrupts and IPIs on both, keeps time with the
host, and logs no warning.

Needs build/linux/ (`make linux`); skipped without it. The shell helper is in test_linux_qemu.py.
"""

import re
import time

from helpers import assert_clean, started_pcpus
from test_linux_qemu import BAD_KERNEL, LinuxShell, requires_linux

pytestmark = requires_linux

VM = "linux"
# Pipes whose two ends are pinned to different CPUs, one each way: every wake-up of the
# reader or writer on the other CPU is an IPI (rescheduling or function call), on both CPUs.
IPI_LOAD = (
    "taskset 1 dd if=/dev/zero bs=512 count=2000 2>/dev/null | taskset 2 cat >/dev/null & "
    "taskset 2 dd if=/dev/zero bs=512 count=2000 2>/dev/null | taskset 1 cat >/dev/null; wait"
)


def parse_interrupts(lines):
    """/proc/interrupts -> ({description: [count per CPU]}, number of CPUs). The description is
    the rest of the line after the counts ("GICv3  27 Level     arch_timer",
    "Rescheduling interrupts")."""
    header = next((t for t in lines if t.split() and t.split()[0] == "CPU0"), None)
    assert header, "no CPU header in /proc/interrupts:\n" + "\n".join(lines)
    ncpu = len(header.split())
    rows = {}
    for t in lines:
        m = re.match(r"^\s*(\w+):((?:\s+\d+){%d})\s+(.*)$" % ncpu, t)
        if m:
            rows[m.group(3).strip()] = [int(x) for x in m.group(2).split()]
    return rows, ncpu


def row(rows, pattern):
    """The counts of the one row whose description matches pattern."""
    hits = [v for k, v in rows.items() if re.search(pattern, k)]
    assert len(hits) == 1, f"/proc/interrupts rows matching {pattern!r}: {len(hits)} in {rows}"
    return hits[0]


def test_linux_smp(system):
    con = system("linux_smp")
    assert started_pcpus(con, 0, VM) == [1, 2]
    sh = LinuxShell(con, VM)
    sh.wait_ready()

    # -- both vCPUs online
    assert sh.run("nproc") == ["2"]
    assert sh.run("cat /sys/devices/system/cpu/online") == ["0-1"]

    # -- timer interrupts and IPIs on both CPUs, read twice a few (guest) seconds apart
    rows1, ncpu = parse_interrupts(sh.run("cat /proc/interrupts"))
    assert ncpu == 2
    sh.run(IPI_LOAD + "; sleep 2", timeout=120)
    rows2, _ = parse_interrupts(sh.run("cat /proc/interrupts"))
    timer1, timer2 = row(rows1, r"\barch_timer$"), row(rows2, r"\barch_timer$")
    assert all(b > a for a, b in zip(timer1, timer2)), f"arch_timer: {timer1} -> {timer2}"
    for name in ("Rescheduling interrupts", "Function call interrupts"):
        assert name in rows1 and name in rows2, f"no IPI row {name!r}: {rows2}"
    ipis1, ipis2 = (
        [a + b for a, b in zip(r["Rescheduling interrupts"], r["Function call interrupts"])]
        for r in (rows1, rows2)
    )
    assert all(b > a for a, b in zip(ipis1, ipis2)), f"IPIs per CPU: {ipis1} -> {ipis2}"

    # -- guest time: `sleep 3` takes 3 s of guest time, and about as long on the host clock
    n = sh.start(
        "cut -d' ' -f1 /proc/uptime; date +%s; sleep 3; date +%s; cut -d' ' -f1 /proc/uptime"
    )
    sh.wait_output(n, 1)
    t_first = time.monotonic()  # the first uptime line has just arrived
    out = sh.finish(n)
    t_end = time.monotonic()  # the end marker, printed right after the last uptime line
    assert len(out) == 4, out
    up1, d1, d2, up2 = float(out[0]), int(out[1]), int(out[2]), float(out[3])
    assert 2 <= d2 - d1 <= 4, f"date +%s before and after sleep 3: {d1}, {d2}"
    guest = up2 - up1
    assert 2.9 <= guest <= 4.5, f"sleep 3 took {guest:.2f} s of guest uptime"
    host = t_end - t_first
    assert abs(host - guest) <= 0.25 * guest, (
        f"guest clock and host clock disagree: sleep 3 took {guest:.2f} s of guest time "
        f"and {host:.2f} s on the host"
    )

    # -- the kernel log: the GICv3 driver and the (virtual) arch timer, no warning
    log = sh.run("dmesg | grep -E 'GICv3|arch_timer|WARNING|BUG|Oops|Internal error|Call trace'")
    bad = [t for t in log if BAD_KERNEL.search(t)]
    assert not bad, "kernel log:\n" + "\n".join(bad)
    assert any("GICv3" in t for t in log), f"no GICv3 line in dmesg: {log}"
    timer = [t for t in log if re.search(r"arch_timer: .*timer\(s\) running at", t)]
    assert timer, f"no arch_timer line in dmesg: {log}"
    assert "(virt)" in timer[0], f"Linux at EL1 should use the virtual timer: {timer[0]}"

    assert con.running
    assert_clean(con)
