"""Two Linux VMs (1 vCPU, 128 MiB each) beside a bare-metal ticker (configs/linux_multi.dts):
each Linux answers on its own console, and powering one off or rebooting the other touches
neither the rest nor the ticker.

Needs build/linux/ (`make linux`); skipped without it. The shell helper is in test_linux_qemu.py.
"""

import re

from helpers import assert_clean, last_tick, started_pcpus, wait_tick
from test_linux_qemu import BOOT_TIMEOUT, LinuxShell, requires_linux

pytestmark = requires_linux

VMS = ("linux-a", "linux-b", "ticker")  # in file order: the console focus cycles this way


def switch_to(con, name, focus):
    """Presses Ctrl-A three times until the input focus is on `name`; returns the new focus."""
    while focus != name:
        seen = len([t for t in con.lines("hyp") if t.startswith("console input -> ")])
        con.send(b"\x01\x01\x01")
        nxt = VMS[(VMS.index(focus) + 1) % len(VMS)]
        con.wait_until(
            lambda: len([t for t in con.lines("hyp") if t.startswith("console input -> ")])
            > seen,
            f"[hyp] console input -> '{nxt}'",
        )
        last = [t for t in con.lines("hyp") if t.startswith("console input -> ")][-1]
        assert last == f"console input -> '{nxt}'", last
        focus = nxt
    return focus


def answers(sh, word):
    """The shell of sh's VM (which has the focus) runs a command; its output is on that VM's
    console only."""
    assert sh.run(f"echo {word}-$((6*7))") == [f"{word}-42"]
    others = [
        (tag, t) for tag, t in sh.con.lines() if tag != sh.vm and t.strip() == f"{word}-42"
    ]
    assert not others, f"{word}-42 printed by another VM: {others}"


def ticker_ticks(con, n=10):
    wait_tick(con, "ticker", last_tick(con, "ticker") + n)


def test_linux_multi(system):
    con = system("linux_multi")
    assert started_pcpus(con, 0, "linux-a") == [1]
    assert started_pcpus(con, 1, "linux-b") == [2]
    assert started_pcpus(con, 2, "ticker") == [3]
    a, b = LinuxShell(con, "linux-a"), LinuxShell(con, "linux-b")
    a.wait_ready()
    b.wait_ready()
    ticker_ticks(con)

    # -- each answers on its own console (input starts with linux-a)
    focus = "linux-a"
    answers(a, "alpha")
    focus = switch_to(con, "linux-b", focus)
    answers(b, "bravo")
    assert a.ready_count() == 1 and b.ready_count() == 1

    # -- poweroff -f in linux-a: PSCI SYSTEM_OFF stops that VM only
    focus = switch_to(con, "linux-a", focus)
    a.send_line("poweroff -f")
    con.wait_for(r"^\[hyp\] vm 'linux-a': powered off \(PSCI SYSTEM_OFF\)", BOOT_TIMEOUT)
    ticker_ticks(con)
    focus = switch_to(con, "linux-b", focus)
    answers(b, "charlie")

    # -- reboot -f in linux-b: PSCI SYSTEM_RESET boots it again, to a working shell
    b.send_line("reboot -f")
    con.wait_for(r"^\[hyp\] vm 'linux-b': reset \(PSCI SYSTEM_RESET\)", BOOT_TIMEOUT)
    b.wait_ready(2)
    answers(b, "delta")
    ticker_ticks(con)

    # linux-a stayed off: nothing after its power-off (input went to linux-b meanwhile)
    lines = con.lines()
    off = next(i for i, (tag, t) in enumerate(lines) if tag == "hyp" and "'linux-a': powered" in t)
    late = [t for tag, t in lines[off + 1 :] if tag == "linux-a"]
    assert not late, f"linux-a printed after its power-off: {late}"
    assert con.running, "QEMU exited: a VM's SYSTEM_OFF or SYSTEM_RESET must not stop the machine"
    assert not [t for t in con.lines("hyp") if re.search(r"\bvm stopped\b", t)]
    assert_clean(con)
