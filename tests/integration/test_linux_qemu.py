"""Linux guests: the shell helper the test_linux_*.py files share, and the baseline: the same
kernel and initramfs booted directly on QEMU, without Bulkhead.

The guest is Debian 12's arm64 kernel with the initramfs of scripts/fetch-linux.sh (busybox and
linux/init), in build/linux/. Without build/linux/ these tests are skipped (run `make linux`);
with it they run, and fail if Linux misbehaves.

LinuxShell drives the busybox shell on one VM's console: it waits for the init's marker line
"bulkhead-init: ready" and runs a command as `echo BH-B''7; CMD; echo BH-E''7`, then returns the
VM's lines between the output lines "BH-B7" and "BH-E7" (the quotes keep the echoed command line
from ever looking like a marker, however the shell's line editor wraps it). It never depends on
the prompt ("# "), which the hypervisor shows only as a partial line.
"""

import itertools
import os
import re

import pytest

from console import DEFAULT_TIMEOUT, ROOT, Console

LINUX = ROOT / "build" / "linux"
IMAGE = LINUX / "Image"
INITRD = LINUX / "initramfs.cpio.gz"
READY = "bulkhead-init: ready"
# Linux boots in a few seconds under TCG; the deadline is generous for a loaded 2-core machine.
BOOT_TIMEOUT = max(180.0, 3 * DEFAULT_TIMEOUT)
CMD_TIMEOUT = max(60.0, DEFAULT_TIMEOUT)
# The QEMU flags every Linux timing uses (docs: pauth-impdef=on makes pointer authentication,
# which Debian's kernel uses, cheap under TCG).
QEMU_CPU = "max,pauth-impdef=on"

# scripts/test.sh fetches the kernel first and sets BH_REQUIRE_LINUX=1: there a missing guest is
# a failure, never a silent skip.
HAVE_LINUX = IMAGE.is_file() and INITRD.is_file()
if not HAVE_LINUX and os.environ.get("BH_REQUIRE_LINUX") == "1":
    raise RuntimeError("BH_REQUIRE_LINUX=1 but build/linux/ has no Image/initramfs")
requires_linux = pytest.mark.skipif(
    not HAVE_LINUX,
    reason="no Linux guest in build/linux/: run `make linux` (scripts/fetch-linux.sh)",
)

# Kernel messages that mean something went wrong (the kernel's own words).
BAD_KERNEL = re.compile(r"\bWARNING\b|\bBUG\b|\bOops\b|Internal error|Kernel panic|Call trace")

_markers = itertools.count(1)


class LinuxShell:
    """The busybox shell of one Linux VM. `vm` is its console tag, or None for a Linux running
    directly on QEMU (untagged lines)."""

    def __init__(self, con, vm=None):
        self.con = con
        self.vm = vm

    def lines(self):
        """The VM's complete console lines so far, without the "[vm] " tag."""
        if self.vm is None:
            return self.con.all_lines()
        return self.con.lines(self.vm)

    def ready_count(self):
        return sum(1 for t in self.lines() if t.rstrip() == READY)

    def check_alive(self):
        """Fails at once (instead of at a deadline) if the hypervisor stopped the VM or the
        kernel panicked."""
        dead = [t for t in self.lines() if "Kernel panic" in t]
        if self.vm is not None:
            dead += [
                "[hyp] " + t
                for t in self.con.lines("hyp")
                if re.match(rf"vm '{re.escape(self.vm)}'.*\bvm stopped\b", t)
            ]
        if dead:
            raise AssertionError(
                f"Linux VM {self.vm or '(direct)'} died:\n" + "\n".join(dead)
                + f"\n--- last lines of output (full log: {self.con.log_path}) ---\n"
                + self.con.tail()
            )

    def _until(self, predicate, what, timeout):
        def check():
            self.check_alive()
            return predicate()

        return self.con.wait_until(check, what, timeout)

    def wait_ready(self, n=1, timeout=BOOT_TIMEOUT):
        """Waits until the init has printed its ready marker n times (n boots) in all."""
        self._until(
            lambda: self.ready_count() >= n,
            f"[{self.vm}] {READY!r} #{n} (Linux boot)",
            timeout,
        )

    def wait_output(self, n, count=1, timeout=CMD_TIMEOUT):
        """Waits until start()'s command n has printed `count` lines after its begin marker;
        returns them (for timing a command's progress from the host)."""
        found = []

        def done():
            lines = [t.rstrip() for t in self.lines()]
            if f"BH-B{n}" not in lines:
                return False
            out = lines[lines.index(f"BH-B{n}") + 1 :]
            if len(out) >= count:
                found.append(out[:count])
            return len(out) >= count

        self._until(done, f"[{self.vm}] {count} line(s) of command {n}'s output", timeout)
        return found[-1]

    def _echo_since(self, pos):
        """What the VM printed after raw output position pos, partial lines included, with
        line breaks and tags removed (its echo of typed input, possibly wrapped)."""
        with self.con._cond:  # Console offers complete lines only; the echo is often partial
            text = self.con._text[pos:]
        if self.vm is None:
            return text.replace("\n", "")
        tag = f"[{self.vm}] "
        return "".join(t[len(tag) :] for t in text.split("\n") if t.startswith(tag))

    def send_line(self, text, chunk=32):
        """Types text and a newline into the VM with the console focus, `chunk` bytes at a time,
        each time waiting until the guest has echoed all of it. Bulkhead's emulated UART
        holds 63 received bytes and drops the rest, as a real UART overruns; under TCG on a
        loaded host a vCPU can stall long enough for a line sent at once to overflow it."""
        data = text + "\n"
        with self.con._cond:
            pos = self.con._text.rfind("\n") + 1  # the start of the line now open
        for i in range(0, len(data), chunk):
            piece = data[i : i + chunk]
            self.con.send(piece)
            if piece.endswith("\n"):
                break
            # All typed so far, contiguous: an earlier echo of a repeated word does not count.
            typed = data[: i + len(piece)]
            self._until(
                lambda: typed in self._echo_since(pos),
                f"[{self.vm}] the echo of the input {typed!r} (the guest takes input from the "
                "console, the input focus is on this VM, nothing was dropped)",
                CMD_TIMEOUT,
            )

    def start(self, cmd):
        """Sends cmd wrapped in fresh markers; returns the marker number for finish()."""
        n = next(_markers)
        self.send_line(f"echo BH-B''{n}; {cmd}; echo BH-E''{n}")
        return n

    def _between(self, n):
        lines = [t.rstrip() for t in self.lines()]
        begin, end = f"BH-B{n}", f"BH-E{n}"
        if begin not in lines:
            return None
        i = lines.index(begin)
        if end not in lines[i + 1 :]:
            return None
        j = lines.index(end, i + 1)
        return lines[i + 1 : j]

    def finish(self, n, timeout=CMD_TIMEOUT, what=""):
        """Waits for the end marker of start()'s command n; returns the output lines between."""
        found = []

        def done():
            out = self._between(n)
            if out is not None:
                found.append(out)
            return out is not None

        self._until(
            done,
            f"[{self.vm}] output of {what or f'command {n}'} between BH-B{n} and BH-E{n}",
            timeout,
        )
        return found[-1]

    def run(self, cmd, timeout=CMD_TIMEOUT):
        """Runs cmd in the shell of the VM with the console focus; returns its output lines."""
        return self.finish(self.start(cmd), timeout, repr(cmd))


def qemu_direct_cmd(smp=2, mem="512M", append="console=ttyAMA0"):
    """QEMU running build/linux directly (no hypervisor) with the flags Bulkhead's tests use."""
    return [
        "qemu-system-aarch64",
        "-M", "virt,gic-version=3",
        "-cpu", QEMU_CPU,
        "-smp", str(smp), "-m", mem,
        "-nographic", "-echr", "0x1d",
        "-kernel", str(IMAGE), "-initrd", str(INITRD),
        "-append", append,
    ]  # fmt: skip


@requires_linux
def test_linux_boots_directly_on_qemu(request):
    """The guest itself works: booted without Bulkhead it reaches the shell with 2 CPUs and a
    clean log. (When the tests under Bulkhead fail and this passes, look at the hypervisor.)"""
    log = ROOT / "build" / "logs" / f"{request.node.name}.log"
    with Console(qemu_direct_cmd(), log_path=log) as con:
        sh = LinuxShell(con)
        sh.wait_ready()
        assert sh.run("nproc") == ["2"]
        assert sh.run("tty") == ["/dev/ttyAMA0"], "the shell's terminal is not the console"
        out = sh.run("modprobe virtio_mmio && modprobe virtio_net && lsmod | cut -d' ' -f1")
        assert {"virtio_mmio", "virtio_net", "net_failover", "failover"} <= set(out), out
        bad = [t for t in sh.run("dmesg") if BAD_KERNEL.search(t)]
        assert not bad, "kernel log:\n" + "\n".join(bad)
