"""The management VM and bhctl.

What runs now, without the hypervisor's control service: the management VM's initramfs
(build/linux/mgmt-initramfs.cpio.gz, scripts/mgmt-initramfs.sh) booted directly on QEMU, with a
QEMU virtio-console port named "bulkhead.ctl" whose other end is the fake hypervisor of
tests/tools/fakehyp.py. That checks, with Debian's own kernel drivers, what the host tests
cannot: the port is found through sysfs, bhctl and dtc run in the VM, a create streams the
files of /guests through a real port byte for byte, and a second bhctl gets EBUSY.

The tests against Bulkhead boot configs/mgmt.dts (the management VM alone, with a VM pool) and
drive bhctl in it. MgmtShell is the helper they share: the management VM's shell plus `bhctl`
with exit codes.
"""

import os
import re
import socket
import subprocess
import sys
import time

import pytest

from console import ROOT, Console
from helpers import assert_clean, assert_consecutive, last_tick, ticks, wait_tick
from test_linux_qemu import (
    CMD_TIMEOUT,
    HAVE_LINUX,
    IMAGE,
    LINUX,
    QEMU_CPU,
    LinuxShell,
)

sys.path.insert(0, str(ROOT / "tests" / "tools"))
import fakehyp as fh  # noqa: E402

MGMT_INITRD = LINUX / "mgmt-initramfs.cpio.gz"
LOGS = ROOT / "build" / "logs"
PORT_NAME = "bulkhead.ctl"  # BHC_PORT_NAME

if HAVE_LINUX and not MGMT_INITRD.is_file() and os.environ.get("BH_REQUIRE_LINUX") == "1":
    raise RuntimeError("BH_REQUIRE_LINUX=1 but there is no " + str(MGMT_INITRD))
requires_mgmt = pytest.mark.skipif(
    not (HAVE_LINUX and MGMT_INITRD.is_file()),
    reason="no build/linux/mgmt-initramfs.cpio.gz: run scripts/fetch-linux.sh",
)


class MgmtShell(LinuxShell):
    """The management VM's shell: LinuxShell plus bhctl. `vm` is its console tag under
    Bulkhead, None directly on QEMU."""

    def setup(self):
        """Loads the drivers of the control channel (the initramfs leaves modules unloaded);
        returns the port's device path. Kernel messages stop going to the console (they stay
        in dmesg): under TCG one like "hrtimer: interrupt took ..." can land among a command's
        output lines."""
        self.run("dmesg -n 1; modprobe virtio_mmio; modprobe virtio_console")
        # the driver probes the device and names its ports asynchronously: wait (10 s at most)
        out = self.run("for i in $(seq 50); do grep -l '^bulkhead.ctl$' "
                       "/sys/class/virtio-ports/*/name 2>/dev/null && break; sleep 0.2; done")
        assert len(out) == 1, f"no port named bulkhead.ctl: {out}"
        return "/dev/" + out[0].split("/")[-2]

    def bhctl(self, args, rc=0, timeout=CMD_TIMEOUT):
        """Runs `bhctl ARGS` (stderr included) and returns its output lines; asserts its exit
        status is rc (None: any; then the status is the last element)."""
        out = self.run(f"bhctl {args} 2>&1; echo BH-RC=$?", timeout)
        assert out and out[-1].startswith("BH-RC="), out
        got = int(out[-1][6:])
        if rc is not None:
            assert got == rc, f"bhctl {args}: exit {got}, expected {rc}:\n" + "\n".join(out)
            return out[:-1]
        return out[:-1] + [got]

    def vms(self):
        """`bhctl list` as {name: {id, state, kind, vcpus, pcpus, memory, uptime, exits}}."""
        lines = self.bhctl("list")
        assert lines[0].split()[:3] == ["ID", "NAME", "STATE"], lines
        table = {}
        for line in lines[1:]:
            c = line.split()
            table[c[1]] = dict(id=int(c[0]), state=c[2], kind=c[3], vcpus=int(c[4]),
                               pcpus=c[5], memory=c[6], uptime=c[7], exits=int(c[8]))
        return table

    def hyp_free(self):
        """The hypervisor's own allocator's free bytes, from `bhctl info`."""
        for line in self.bhctl("info"):
            m = re.match(r"hypervisor free\s+(\d+) bytes", line)
            if m:
                return int(m.group(1))
        raise AssertionError("bhctl info printed no 'hypervisor free' line")

    def pool_free(self):
        """The pool's free bytes, from `bhctl info`."""
        for line in self.bhctl("info"):
            m = re.match(r"pool\s+\S+ free of \S+ \((\d+) of (\d+) bytes\)", line)
            if m:
                return int(m.group(1))
        raise AssertionError("bhctl info printed no pool line")


def qemu_mgmt_direct(sock_path):
    """Linux with the management initramfs directly on QEMU, and a virtio-console port named
    bulkhead.ctl on a unix socket (QEMU connects to sock_path)."""
    return [
        "qemu-system-aarch64",
        "-M", "virt,gic-version=3", "-cpu", QEMU_CPU, "-smp", "2", "-m", "512M",
        "-nographic", "-echr", "0x1d",
        "-kernel", str(IMAGE), "-initrd", str(MGMT_INITRD), "-append", "console=ttyAMA0",
        "-chardev", f"socket,id=ctl,path={sock_path}",
        "-device", "virtio-serial-device",
        "-device", "virtserialport,chardev=ctl,name=" + PORT_NAME,
    ]  # fmt: skip


def fake_on_port(request, tmp_path, port_name, make_fake):
    """Generator for fixtures: the management initramfs directly on QEMU with one
    virtio-console port named port_name on a unix socket, its other end served by
    make_fake(fd=...); yields (MgmtShell, the fake) and, after the test, asserts the fake saw
    no protocol error."""
    sock_path = tmp_path / "port.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(sock_path))
    srv.listen(1)
    srv.settimeout(60)
    cmd = [a.replace("name=" + PORT_NAME, "name=" + port_name)
           for a in qemu_mgmt_direct(sock_path)]
    con = Console(cmd, log_path=LOGS / f"{request.node.name}.log")
    fake = None
    try:
        conn, _ = srv.accept()
        fake = make_fake(fd=conn.detach())
        sh = MgmtShell(con)
        sh.wait_ready()
        yield sh, fake
        assert fake.errors == [], f"bhctl broke the protocol: {fake.errors}"
    finally:
        con.close()
        if fake:
            fake.close()
        srv.close()


@pytest.fixture
def direct(request, tmp_path):
    """(MgmtShell, FakeHyp): the management initramfs on QEMU, its control port served by the
    fake hypervisor."""
    yield from fake_on_port(request, tmp_path, PORT_NAME, fh.FakeHyp)


@requires_mgmt
def test_bhctl_over_a_real_virtio_console_port(direct):
    """bhctl in the management initramfs finds the port through sysfs, dtc runs, and a create
    streams /guests/demo.bin through Linux's virtio_console byte for byte."""
    sh, hyp = direct
    port = sh.setup()
    assert re.fullmatch(r"/dev/vport\d+p\d+", port), port
    assert sh.run("dtc --version")[0].startswith("Version: DTC 1.6.1")
    assert sh.bhctl("--help")[0].startswith("usage: bhctl")
    assert "protocol         1 (bhctl 1)" in sh.bhctl("info")
    assert sh.vms()["mgmt"]["state"] == "running"

    out = sh.bhctl("create /guests/demo.dts")
    assert out[-1] == "bhctl: vm 1 'demo' created and started", out
    vm = hyp.vms[1]
    assert vm.loaded[fh.BLOB_IMAGE] == (ROOT / "build" / "guests" / "demo.bin").read_bytes()
    dtb = subprocess.run(["dtc", "-q", "-O", "dtb", str(ROOT / "linux" / "mgmt" / "demo.dts")],
                         capture_output=True, check=True).stdout
    assert vm.config == dtb, "the VM's dtc compiled demo.dts differently"
    assert vm.file == "/guests/demo.dts"

    # A configuration error is reported in the VM, by file, VM and field; nothing is sent.
    sent = len(hyp.requests)
    sh.run("sed 's/demo.bin/nope.bin/' /guests/demo.dts >/tmp/bad.dts")
    out = sh.bhctl("create /tmp/bad.dts", rc=1)
    assert out == ["/tmp/bad.dts: vm 'demo': field 'image': '/tmp/nope.bin': "
                   "No such file or directory"], out
    assert len(hyp.requests) == sent

    # console on the VM's own terminal (raw mode): keys go out as they are, the fake echoes
    # them as "echo:<bytes>", Ctrl-\ detaches and the shell works again afterwards.
    sh.con.send("bhctl console 1\n")
    sh.con.wait_until(lambda: any("bhctl: attached to 'created1'" in t for t in sh.lines()),
                      "bhctl console's attach line", CMD_TIMEOUT)
    sh.con.wait_until(lambda: any("login banner" in t for t in sh.lines()),
                      "the console event sent on attach", CMD_TIMEOUT)
    sh.con.send("xyz")
    sh.con.wait_until(lambda: b"".join(p[8:] for t, _, p in list(hyp.requests)
                                       if t == fh.CONSOLE_INPUT) == b"xyz",
                      "the keys as CONSOLE_INPUT", CMD_TIMEOUT)
    sh.con.send("\x1c")
    sh.con.wait_until(lambda: any("bhctl: detached from 'created1'" in t for t in sh.lines()),
                      "bhctl console's detach line", CMD_TIMEOUT)
    assert hyp.types()[-1] == fh.CONSOLE_DETACH
    assert sh.run("echo still-a-shell") == ["still-a-shell"]

    # One bhctl at a time: the port is busy while a console is attached.
    sh.run("(sleep 20 | bhctl console 1 >/tmp/con.out 2>&1 &) ; i=0; "
           "until grep -q attached /tmp/con.out || [ $i -ge 100 ]; do sleep 0.1; i=$((i+1)); done")
    assert "bhctl: attached to 'created1'; Ctrl-\\ detaches" in sh.run("cat /tmp/con.out")
    out = sh.bhctl("list", rc=3)
    assert "the control channel is in use by another bhctl" in out[-1], out


@requires_mgmt
def test_create_linux_streams_the_kernel(direct):
    """The 31 MiB kernel and the initramfs of /guests/linux.dts go through the port in 32 KiB
    messages, unchanged (created paused: -p)."""
    sh, hyp = direct
    sh.setup()
    t0 = time.monotonic()
    out = sh.bhctl("create -p /guests/linux.dts", timeout=600)
    took = time.monotonic() - t0
    assert out[-1].startswith("bhctl: vm 1 'linux' created paused"), out
    vm = hyp.vms[1]
    assert vm.loaded[fh.BLOB_IMAGE] == IMAGE.read_bytes()
    assert vm.loaded[fh.BLOB_INITRD] == (LINUX / "initramfs.cpio.gz").read_bytes()
    assert fh.START in hyp.types() and vm.state == fh.PAUSED
    print(f"create -p /guests/linux.dts: {len(vm.loaded[fh.BLOB_IMAGE]) >> 20} MiB in "
          f"{took:.1f} s")


# ---- against Bulkhead ----

@requires_mgmt
def test_create_two_guests_and_manage_them(system):
    """From the management VM: create Linux and demo, list shows both running, console reaches
    Linux's shell, stop powers it off, destroy removes demo; list agrees at each step."""
    con = system("mgmt")
    sh = MgmtShell(con, "mgmt")
    sh.wait_ready()
    sh.setup()
    sh.bhctl("create /guests/linux.dts")
    sh.bhctl("create /guests/demo.dts")
    vms = sh.vms()
    assert vms["linux"]["state"] == vms["demo"]["state"] == "running"
    guest = LinuxShell(con, "linux")
    guest.wait_ready()
    # console: the shell of the Linux guest, through the control channel
    n = sh.start("bhctl console linux")
    sh.wait_output(n)  # the attach hint: from here on, keystrokes go to the guest
    sh.con.send("echo from-the-guest-$((6*7))\n")
    sh.con.wait_until(lambda: any("from-the-guest-42" in t for t in sh.lines()),
                      "the guest's output through bhctl console", CMD_TIMEOUT)
    sh.con.send("\x1c")
    assert sh.finish(n)[-1] == "bhctl: detached from 'linux'"
    assert sh.vms()["linux"]["state"] == "running"
    # stats: the guest's exits by reason and by device, its interrupts, no refusals
    stats = "\n".join(sh.bhctl("stats linux"))
    counts = dict(re.findall(r"^\s+(\S+)\s+(\d+)$", stats, re.M))
    assert int(counts["hypercall"]) > 0 and int(counts["pl011"]) > 0, stats
    assert int(counts["gicr"]) > 0 and int(counts["irq"]) > 0, stats
    assert int(re.search(r"^interrupts injected\s+(\d+)$", stats, re.M).group(1)) > 100, stats
    assert re.search(r"^control refused\s+0$", stats, re.M), stats
    # network counters: the guest's port is alone on switch 'mgmt0'. ARP requests for a peer
    # that is not there go out from its address (tx), then from an address it does not own
    # (tx-bad: refused by the switch); nothing comes back.
    n = sh.start("bhctl console linux")
    sh.wait_output(n)
    sh.con.send("modprobe virtio_mmio && modprobe virtio_net && ip link set eth0 up && "
                "ip addr add 10.9.0.1/24 dev eth0 && ping -c 3 -W 1 10.9.0.2 >/dev/null; "
                "ip link set eth0 address 02:00:00:00:00:99 && ping -c 3 -W 1 10.9.0.2 "
                ">/dev/null; echo net-$((40+2))-done\n")
    sh.con.wait_until(lambda: any(t.strip() == "net-42-done" for t in sh.lines()),
                      "the guest's pings to nobody", CMD_TIMEOUT)
    sh.con.send("\x1c")
    assert sh.finish(n)[-1] == "bhctl: detached from 'linux'"
    stats = sh.bhctl("stats linux")
    i = stats.index("network (frames)")
    assert re.fullmatch(r"  virtio-net@2\s+switch 'mgmt0', 52:54:00:00:00:10", stats[i + 1])
    nic = {k: int(v) for k, v in re.findall(r"([a-z-]+) (\d+)", stats[i + 2])}
    assert nic["tx"] >= 3 and nic["tx-bad"] >= 3, stats[i:]
    assert nic["rx"] == nic["rx-dropped"] == nic["tx-limited"] == 0, stats[i:]
    top = sh.bhctl("top -n 1")
    assert any(re.match(r"\s*1\s+linux\b", t) for t in top), top
    # reboot: the guest boots again from its image
    sh.bhctl("reboot linux")
    guest.wait_ready(2)
    # stop: the power button; the guest powers itself off
    sh.bhctl("stop -t 60 linux")
    assert any("power button pressed, powering off" in t for t in guest.lines())
    assert sh.vms()["linux"]["state"] == "off"
    # start: an off VM boots again
    sh.bhctl("start linux")
    guest.wait_ready(3)
    assert sh.vms()["linux"]["state"] == "running"
    # pause / unpause: a ticker's ticks stop while it is paused and go on after
    sh.bhctl("create /guests/ticker.dts")
    wait_tick(con, "ticker", 5)
    sh.bhctl("pause ticker")
    paused_at = last_tick(con, "ticker")
    assert sh.vms()["ticker"]["state"] == "paused"
    sh.bhctl("list")  # time passes: a few hundred ms at least
    assert last_tick(con, "ticker") <= paused_at + 1, "the ticker ran while paused"
    sh.bhctl("unpause ticker")
    wait_tick(con, "ticker", paused_at + 5)
    assert_consecutive(ticks(con, "ticker"), "ticker")
    sh.bhctl("destroy demo")
    assert "demo" not in sh.vms()
    # the management VM cannot stop or destroy itself; an unknown VM is named
    assert any("cannot destroy itself" in t for t in sh.bhctl("destroy mgmt", rc=1))
    assert any("nosuch" in t for t in sh.bhctl("stop nosuch", rc=1))
    assert_clean(con)


@requires_mgmt
def test_create_destroy_20_times_leaks_nothing(system):
    """Create a Linux VM (with a disk-less virtio-net port and a virtio-console) and destroy it
    while it boots, 20 times: every time the pool and the hypervisor's own allocator get all
    their memory back, the VM gets the same id (no slot leaks) and its switch port is
    attached (a leaked port would fill the switch's 16 ports)."""
    con = system("mgmt")
    sh = MgmtShell(con, "mgmt")
    sh.wait_ready()
    sh.setup()
    free0, hyp0, before = sh.pool_free(), sh.hyp_free(), set(sh.vms())
    assert free0 == 640 << 20
    for i in range(20):
        out = sh.bhctl("create /guests/linux.dts", timeout=300)
        assert out[-1] == "bhctl: vm 1 'linux' created and started", out
        vm = sh.vms()["linux"]
        assert vm["id"] == 1 and vm["state"] == "running"
        assert sh.pool_free() < free0
        sh.bhctl("destroy linux")
        assert sh.pool_free() == free0, f"round {i}: the pool did not get its memory back"
        assert sh.hyp_free() == hyp0, f"round {i}: the hypervisor's allocator leaked"
        assert set(sh.vms()) == before
    hyp = con.lines("hyp")
    assert sum("vm 1 'linux': destroyed" in t for t in hyp) == 20
    assert sum("on switch 'mgmt0'" in t and "not attached" not in t for t in hyp) == 20
    assert not [t for t in hyp if "not attached" in t or "unhandled" in t]


RESET_LOOP = ("/dts-v1/; / { compatible = \"bulkhead,system-v1\"; vms { rl { vcpus = <1>; "
              "pcpus = <1>; memory = <0x0 0x40000000 0x0 0x4000000>; image = \"rl.bin\"; "
              "initrd = \"/guests/linux/Image\"; }; }; };")
# PSCI SYSTEM_RESET by HVC, for ever: movz x0, #0x8400, lsl #16; movk x0, #9; hvc #0; b .
RESET_BIN = r"\000\200\260\322\040\001\200\362\002\000\000\324\000\000\000\024"


@requires_mgmt
def test_destroy_a_vm_that_resets_in_a_loop(system):
    """A VM that asks for PSCI SYSTEM_RESET as its first instruction, with a 31 MiB initrd that
    every reset copies into its RAM again, spends most of its time being reset on its own CPU:
    destroyed from the management VM (4 times), it goes, the pool and the hypervisor's
    allocator get all their memory back, nothing else is disturbed. After each destroy the
    scrub guest, created over the same pool memory (128 MiB from the pool's start: the reset
    loop's RAM and the previous scrub guest's), finds every word of its RAM zero: nothing of the
    destroyed VMs is left, not even what a reset in progress was copying (the destroy waits
    for it), and it fills its RAM for the next round to check. Without the initrd the same loop
    resets tens of thousands of times in 10 s: the console gets 5 lines a window, one saying
    the rest are not shown, and their count when the next window starts or the VM goes."""
    con = system("mgmt")
    sh = MgmtShell(con, "mgmt")
    sh.wait_ready()
    sh.setup()
    sh.run(f"printf '{RESET_BIN}' > /tmp/rl.bin; echo '{RESET_LOOP}' > /tmp/rl.dts")
    assert sh.run("od -An -tx4 /tmp/rl.bin") == [" d2b08000 f2800120 d4000002 14000000"]
    free0, hyp0, before = sh.pool_free(), sh.hyp_free(), set(sh.vms())
    resets = "vm 'rl': reset (PSCI SYSTEM_RESET): rebooting from its image"
    for i in range(4):
        n0 = con.lines("hyp").count(resets)
        out = sh.bhctl("create /tmp/rl.dts", timeout=300)
        assert out[-1] == "bhctl: vm 1 'rl' created and started", out
        con.wait_until(lambda: con.lines("hyp").count(resets) >= n0 + 3, "three resets", 60)
        assert sh.bhctl("destroy rl")[-1] == "bhctl: vm 1 'rl' destroyed"
        assert set(sh.vms()) == before
        assert sh.pool_free() == free0, f"round {i}: the pool did not get its memory back"
        assert sh.hyp_free() == hyp0, f"round {i}: the hypervisor's allocator leaked"
        assert sh.bhctl("create /guests/scrub.dts")[-1] == \
            "bhctl: vm 1 'scrub' created and started"
        con.wait_until(lambda: con.lines("scrub").count("scrub: filled") == i + 1,
                       "the scrub guest's check and fill", 120)
        checks = [t for t in con.lines("scrub") if "words not zero" in t]
        assert len(checks) == i + 1 and checks[-1].startswith("scrub: 0 of 16506880 "), checks
        sh.bhctl("destroy scrub")
        assert sh.pool_free() == free0
    hyp = con.lines("hyp")
    assert sum("vm 1 'rl': destroyed" in t for t in hyp) == 4

    # the same loop without the initrd resets thousands of times in 10 s: the console gets 5
    # lines a window, one saying the rest are not shown, and their number when the next starts
    sh.run("sed 's/rl {/rl2 {/; s/initrd = [^;]*;//' /tmp/rl.dts > /tmp/rl2.dts")
    sh.bhctl("create /tmp/rl2.dts")
    loop = re.compile(r"vm 'rl2': 5 resets in \d+ s: further ones in this 10 s are not shown")
    con.wait_until(lambda: any(loop.fullmatch(t) for t in con.lines("hyp")), "the loop line", 60)
    hidden = re.compile(r"vm 'rl2': (\d+) more resets \(PSCI SYSTEM_RESET\) were not shown")
    con.wait_until(lambda: any(hidden.fullmatch(t) for t in con.lines("hyp")),
                   "the count of resets not shown", 60)
    n = [int(m[1]) for t in con.lines("hyp") if (m := hidden.fullmatch(t))]
    assert n[0] > 100, n
    rl2 = [t for t in con.lines("hyp") if t.startswith("vm 'rl2': reset (PSCI")]
    assert 5 <= len(rl2) <= 10, len(rl2)
    sh.bhctl("destroy rl2")  # the last window's count comes with it
    n = [int(m[1]) for t in con.lines("hyp") if (m := hidden.fullmatch(t))]
    assert len(n) == 2 and n[1] > 0, n
    assert sh.pool_free() == free0
    hyp = con.lines("hyp")
    assert not [t for t in hyp if "unhandled" in t or "vm stopped" in t], hyp[-20:]
    assert_clean(con)


# A guest that faults, then resets, for ever: VBAR_EL1 <- image + 0x800; a load from IPA 0 (no
# RAM: the hypervisor reports it and injects an external abort); its vector (image + 0xA00,
# current EL with SPx) asks for SYSTEM_RESET.
#   adr x0, #0x800; msr vbar_el1, x0; isb; movz x2, #0; ldr x1, [x2]; b .
FAULT_HEAD = (r"\000\100\000\020\000\300\030\325\337\077\003\325\002\000\200\322\101\000\100\371"
              r"\000\000\000\024")


@requires_mgmt
def test_faulting_reset_loop_keeps_the_console_usable(system):
    """Each boot of this guest costs the hypervisor a fault report and a reset line, thousands
    of times a second. The console still gets a bounded number of lines: per 10 s window 5
    reset lines, the loop line, at most 25 fault reports (a fresh budget of 20 only with a
    shown reset) and one 'suppressed' line; a ticker next to it keeps ticking."""
    con = system("mgmt")
    sh = MgmtShell(con, "mgmt")
    sh.wait_ready()
    sh.setup()
    sh.run(f"printf '{FAULT_HEAD}' > /tmp/fl.bin; dd if=/dev/zero bs=1 count={0xA00 - 24} "
           f"2>/dev/null >> /tmp/fl.bin; printf '{RESET_BIN}' >> /tmp/fl.bin; "
           f"echo '{RESET_LOOP}' | sed 's/rl {{/fl {{/; s/rl.bin/fl.bin/; "
           "s/initrd = [^;]*;//' > /tmp/fl.dts")
    assert sh.run("od -An -tx4 -N 24 /tmp/fl.bin; od -An -tx4 -j 2560 /tmp/fl.bin") == [
        " 10004000 d518c000 d5033fdf d2800002", " f9400041 14000000",
        " d2b08000 f2800120 d4000002 14000000"]
    sh.bhctl("create /guests/ticker.dts")
    sh.bhctl("create /tmp/fl.dts")
    hidden = re.compile(r"vm 'fl': (\d+) more resets \(PSCI SYSTEM_RESET\) were not shown")
    con.wait_until(lambda: any(hidden.fullmatch(t) for t in con.lines("hyp")),
                   "a window's count of resets not shown", 60)
    n = last_tick(con, "ticker")
    wait_tick(con, "ticker", n + 3)
    sh.bhctl("destroy fl")
    hyp = [t for t in con.lines("hyp") if t.startswith("vm 'fl'")]
    resets = [int(m[1]) for t in hyp if (m := hidden.fullmatch(t))]
    faults = [t for t in hyp if t.startswith("vm 'fl' vcpu 0: data abort at IPA 0x0 (read")]
    windows = len(resets)  # one count per window ended (the last by the destroy)
    assert windows >= 2 and resets[0] > 100, resets
    assert len([t for t in hyp if "reset (PSCI SYSTEM_RESET)" in t]) <= 5 * windows
    # a fresh budget of 20 at each of the 5 shown resets of a window (one fault a boot)
    assert 20 <= len(faults) <= 25 * windows, len(faults)
    assert hyp.count("vm 'fl': further fault reports suppressed") <= windows
    assert len(hyp) < 40 * windows, len(hyp)  # against tens of thousands without the limits
    assert_consecutive(ticks(con, "ticker"), "ticker")
    assert_clean(con)


@requires_mgmt
def test_bad_requests_refused_nothing_half_created(system):
    con = system("mgmt")
    sh = MgmtShell(con, "mgmt")
    sh.wait_ready()
    sh.setup()
    free0, before = sh.pool_free(), set(sh.vms())
    edits = {
        "vcpus = <1>;": ("vcpus = <9>;", "field 'vcpus'"),
        "image = \"demo.bin\";": ("image = \"nope.bin\";", "No such file or directory"),
        "memory = <0x0 0x40000000": ("memory = <0x0 0x08000000", "field 'memory'"),
        "pcpus = <2>;": ("pcpus = <2>; colour = <1>;", "unknown field"),
    }
    for old, (new, msg) in edits.items():
        sh.run(f"sed 's/{old}/{new}/' /guests/demo.dts >/tmp/bad.dts")
        out = sh.bhctl("create /tmp/bad.dts", rc=1)
        assert any(msg in t for t in out), out
        assert set(sh.vms()) == before and sh.pool_free() == free0
    # refusals only the hypervisor can make (the file itself is fine): more memory than the
    # pool has, a name already taken; each with its message, nothing left behind
    hyp0 = sh.hyp_free()
    sh.run("sed 's/0x0 0x200000>/0x0 0x40000000>/' /guests/demo.dts >/guests/big.dts")
    out = sh.bhctl("create /guests/big.dts", rc=1)
    assert any("big.dts: vm 'demo': needs 1024 MiB of the VM pool" in t and
               "640 MiB are free" in t for t in out), out
    assert set(sh.vms()) == before and sh.pool_free() == free0
    sh.bhctl("create /guests/demo.dts")
    used = free0 - sh.pool_free()
    out = sh.bhctl("create /guests/demo.dts", rc=1)
    assert any("vm 'demo': field 'name': VM 1 already has this name" in t for t in out), out
    assert set(sh.vms()) == before | {"demo"} and sh.pool_free() == free0 - used
    sh.bhctl("destroy demo")
    assert sh.pool_free() == free0 and sh.hyp_free() == hyp0
    assert not [t for t in con.lines("hyp") if "unhandled" in t]


@requires_mgmt
def test_guest_control_requests_refused(system):
    """A guest with a virtio-console has the port too; its requests are refused (EPERM, in the
    reply it reads back), said on the console, and counted in the management VM's
    `bhctl stats`; the guest's VM and everything else carry on."""
    con = system("mgmt")
    sh = MgmtShell(con, "mgmt")
    sh.wait_ready()
    sh.setup()
    sh.bhctl("create /guests/linux.dts")
    guest = MgmtShell(con, "linux")
    guest.wait_ready()
    con.send(b"\x01\x01\x01")  # keyboard to the guest
    con.wait_for(r"^\[hyp\] console input -> 'linux'$")
    # the guest image has no bhctl; its shell writes a LIST request (seq 1) by hand and
    # reads the reply
    guest.run("modprobe virtio_mmio; modprobe virtio_console")
    port = guest.run("grep -l '^bulkhead.ctl$' /sys/class/virtio-ports/*/name")
    assert len(port) == 1, port
    dev = "/dev/" + port[0].split("/")[-2]
    out = guest.run(f"exec 3<>{dev}; "
                    "printf 'BHC1\\001\\000\\002\\000\\001\\000\\000\\000"
                    "\\000\\000\\000\\000' >&3; "
                    "dd bs=24 count=1 <&3 2>/dev/null | od -An -tx1; exec 3<&-")
    reply = " ".join(out).split()
    # header: "BHC1", version 1, type LIST|REPLY, seq 1; then status -3 (BHC_EPERM)
    assert reply[:12] == "42 48 43 31 01 00 02 80 01 00 00 00".split(), out
    assert reply[16:20] == ["fd", "ff", "ff", "ff"], out
    con.wait_for(r"^\[hyp\] vm 'linux': control request 2 refused: only the management VM")
    con.send(b"\x01\x01\x01")  # keyboard back to the management VM
    con.wait_for(r"^\[hyp\] console input -> 'mgmt'$")
    stats = "\n".join(sh.bhctl("stats linux"))
    assert re.search(r"control refused\s+1$", stats, re.M), stats
    assert sh.vms()["linux"]["state"] == "running"
