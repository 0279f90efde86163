"""The power button (docs/guest-interface.md): each VM's emulated PL061 at 0x0903_0000 with a
gpio-keys KEY_POWER on pin 3, and the Linux guest's listener that powers off on it.

- A bare-metal guest under Bulkhead drives the PL061 as Linux's drivers do and checks every
  answer (ids, reset values, registers, GPIODATA's address mask, the power pin configured like
  gpio-keys, an interrupt through the virtual GIC, bad accesses), then waits for the button.
- The Linux guest under Bulkhead finds the button: the PL061 is probed, gpio-keys binds its
  interrupt, and init's listener starts on its input device.
- The same Linux directly on QEMU, whose virt board has the same PL061 and gpio-keys node:
  QEMU's `system_powerdown` (monitor on a unix socket) presses the key, and the initramfs
  listener powers the machine off cleanly.

The press under Bulkhead itself (vm_power_button) has no trigger here: the control service's
`bhctl stop` is the way in, tested with it.
"""

import re
import socket
import tempfile
import time
from pathlib import Path

from console import Console
from helpers import assert_clean, check_results, started_pcpus, wait_tick
from test_linux_qemu import (
    BAD_KERNEL,
    BOOT_TIMEOUT,
    CMD_TIMEOUT,
    LinuxShell,
    qemu_direct_cmd,
    requires_linux,
)

RESULT = re.compile(r"^gpio: ([a-z0-9-]+): (.*): (ok|FAIL)$")
CHECKS = {"ids", "reset", "readback", "data-mask", "power-pin", "irq-rising", "irq-edges",
          "reserved", "ldr64"}
LISTENER = r"bulkhead-init: power button on (/dev/input/event\d+)"
PRESSED = "bulkhead-init: power button pressed, powering off"


def test_gpio_guest_drives_pl061(system):
    con = system("gpio")
    assert started_pcpus(con, 0, "gpio") == [1]
    done = con.wait_for(r"^\[gpio\] gpio: done (\d+) checks, (\d+) failures$", 30)
    results = check_results(con, "gpio", RESULT)
    assert set(results) == CHECKS, sorted(results)
    assert done.groups() == (str(len(CHECKS)), "0"), done.group(0)
    con.wait_for(r"^\[gpio\] gpio: waiting for the power button$")
    # the reserved offset read twice: reported once, with the offset
    pl061 = [t for t in con.lines("hyp") if "pl061" in t]
    assert pl061 == ["vm 'gpio': pl061: read of a reserved register at offset 0x800 ignored "
                     "(reported once)"], pl061
    # the guest waits in WFI for the button; the other VM carries on, the VM is not stopped
    wait_tick(con, "ticker-vm", wait_tick(con, "ticker-vm", 1) + 5)
    assert not [t for t in con.lines("hyp") if "gpio" in t and "stopped" in t]
    assert_clean(con)


@requires_linux
def test_linux_finds_power_button_under_bulkhead(system):
    con = system("linux_smp")
    sh = LinuxShell(con, "linux")
    sh.wait_ready()
    found = [m.group(1) for t in sh.lines() if (m := re.match(LISTENER, t))]
    assert len(found) == 1, sh.lines()
    dev = found[0]
    # the key's interrupt: pin 3 of the PL061 (AMBA id matched, probed), both edges
    irq = [t for t in sh.run("cat /proc/interrupts") if "GPIO Key Poweroff" in t]
    assert len(irq) == 1 and re.search(r"\b9030000\.pl061\s+3\s+Edge\b", irq[0]), irq
    name = sh.run(f"cat /sys/class/input/{Path(dev).name}/device/name")
    assert name == ["gpio-keys"], name
    # the listener is running (a dd reading the device), and nothing powered the VM off
    readers = sh.run("for p in /proc/[0-9]*; do "
                     f"[ \"$(readlink $p/fd/0)\" = {dev} ] && cat $p/comm; done; true")
    assert readers == ["dd"], readers
    assert not [t for t in con.lines("hyp") if "powered off" in t]
    bad = [t for t in sh.run("dmesg") if BAD_KERNEL.search(t)]
    assert not bad, "kernel log:\n" + "\n".join(bad)
    assert_clean(con)


def monitor_command(path, command, timeout=10.0):
    """Sends one command to QEMU's human monitor on a unix socket; returns what it answered
    up to the next prompt."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        got = b""
        while b"(qemu) " not in got and time.monotonic() < deadline:
            got += s.recv(4096)  # the banner and the first prompt
        s.sendall(command.encode() + b"\n")
        got = b""
        while b"(qemu) " not in got and time.monotonic() < deadline:
            got += s.recv(4096)
        return got.decode(errors="replace")


@requires_linux
def test_linux_powers_off_on_key_power_directly_on_qemu(request):
    log = Path(__file__).resolve().parents[2] / "build" / "logs" / f"{request.node.name}.log"
    with tempfile.TemporaryDirectory(prefix="bh-pwr-") as tmp:
        mon = Path(tmp) / "monitor.sock"
        cmd = qemu_direct_cmd() + ["-monitor", f"unix:{mon},server,nowait"]
        with Console(cmd, log_path=log) as con:
            sh = LinuxShell(con)
            sh.wait_ready(timeout=BOOT_TIMEOUT)
            assert [t for t in sh.lines() if re.match(LISTENER, t)], sh.lines()
            # alive: the key's initial state (released) did not power it off
            assert sh.run("echo alive") == ["alive"]
            assert not [t for t in sh.lines() if PRESSED in t]
            monitor_command(mon, "system_powerdown")
            # (the shell's prompt may share the line: no ^ anchor)
            con.wait_for(rf"{re.escape(PRESSED)}\s*$", CMD_TIMEOUT)
            con.wait_for(r"reboot: Power down", CMD_TIMEOUT)
            assert con.proc.wait(timeout=CMD_TIMEOUT) == 0  # QEMU ends at PSCI SYSTEM_OFF
            bad = [t for t in sh.lines() if BAD_KERNEL.search(t)]
            assert not bad, bad
