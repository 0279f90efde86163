#!/usr/bin/python3
"""virtio throughput and latency under Bulkhead and on QEMU's own virtio devices, as ratios.

Two Linux VMs (Debian's kernel and the busybox initramfs of build/linux/) exchange traffic, and
one of them reads and writes a RAM-backed disk, with the same guest commands each way:

  bulkhead  one QEMU (scripts/qemu.sh: -M virt,virtualization=on,gic-version=3
            -cpu max,pauth-impdef=on -smp 2 -m 2G) with two VMs, "net-a" on physical CPU 0 and
            "net-b" on physical CPU 1, 1 vCPU and 256 MiB each, a virtio-net port each on the
            hypervisor's switch "lan0" (slot 0), and on net-a a 256 MiB virtio-blk RAM disk
            (slot 1) served by the hypervisor
  qemu      two QEMU processes (-M virt,gic-version=3 -cpu max,pauth-impdef=on -smp 1 -m 256M),
            each with -device virtio-net-device (virtio-mmio, as the VMs see it) on a
            -netdev socket pair over 127.0.0.1 (one listens, the other connects); net-a also
            has -device virtio-blk-device on a raw 256 MiB file in /dev/shm

Measured in the guests (busybox):
  ping_rtt_ms    net-a: `ping -c 50 -i 0.05 10.0.0.2`, the average round trip (after 3 warm-up
                 pings that also resolve the address); ping_rtt_min_ms the fastest of the 50
                 (the average carries the spread of waking the other side's vCPU thread)
  tcp_mib_s      net-b: `nc -l -p 5000 | (dd bs=64k count=1 ...; time dd bs=64k count=256
                 iflag=fullblock of=/dev/null)` while net-a sends 16 MiB + 64 KiB from /dev/zero
                 with `nc`: 16 MiB over the time the receiver took after its first 64 KiB (so
                 the connection's set-up is left out); busybox `time` has 10 ms resolution
  blk_write_mib_s, blk_read_mib_s   net-a: `time dd bs=1M count=256` from /dev/zero to /dev/vda
                 with oflag=direct, then from /dev/vda to /dev/null with iflag=direct (no page
                 cache either way)

Each run boots each system afresh (runs alternate: bulkhead, qemu, bulkhead, ...); the medians
over the runs and the ratios bulkhead/qemu are printed and written, with every sample and the
commands, to bench/results/virtio.json. Consoles: build/logs/bench-virtio-<way>-<run>*.log.

Usage: bench/virtio.py [-n RUNS] [--only bulkhead|qemu] [--no-save]
Needs `make` and `make linux` first (`make bench-virtio` does all three).
"""

import argparse
import datetime
import json
import os
import re
import shlex
import socket
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from console import Console  # noqa: E402
from test_linux_qemu import LinuxShell  # noqa: E402

BUILD = ROOT / "build"
IMAGE = BUILD / "linux" / "Image"
INITRD = BUILD / "linux" / "initramfs.cpio.gz"
BHPACK = BUILD / "tools" / "bhpack"
HYPERVISOR = BUILD / "bulkhead.bin"
RESULTS = ROOT / "bench" / "results" / "virtio.json"
LOGS = BUILD / "logs"

CPU = "max,pauth-impdef=on"
VMS = ("net-a", "net-b")
MAC = {"net-a": "52:54:00:12:34:01", "net-b": "52:54:00:12:34:02"}
IP = {"net-a": "10.0.0.1", "net-b": "10.0.0.2"}
BOOTARGS = "console=ttyAMA0 earlycon=pl011,0x9000000"
DISK_MIB = 256
TCP_BLOCKS = 256  # of 64 KiB: 16 MiB timed, after one untimed block
PINGS = 50
TIMEOUT = 300

CONFIG = f"""/dts-v1/;
/* bench/virtio.py: two Linux VMs on a switch, a RAM disk on the first (generated) */
/ {{
    compatible = "bulkhead,system-v1";

    vms {{
        net-a {{
            vcpus = <1>;
            pcpus = <0>;
            memory = <0x0 0x40000000 0x0 0x10000000>;
            image = "linux/Image";
            initrd = "linux/initramfs.cpio.gz";
            bootargs = "{BOOTARGS}";
            virtio-net@0 {{
                mac = [{MAC["net-a"].replace(":", " ")}];
                switch = "lan0";
            }};
            virtio-blk@1 {{
                size = <0x0 {DISK_MIB << 20:#x}>;
            }};
        }};
        net-b {{
            vcpus = <1>;
            pcpus = <1>;
            memory = <0x0 0x40000000 0x0 0x10000000>;
            image = "linux/Image";
            initrd = "linux/initramfs.cpio.gz";
            bootargs = "{BOOTARGS}";
            virtio-net@0 {{
                mac = [{MAC["net-b"].replace(":", " ")}];
                switch = "lan0";
            }};
        }};
    }};
}};
"""

WAIT_ETH = ("i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.2; "
            "i=$((i+1)); done")
REAL = re.compile(r"^real\s+(?:(\d+)m\s*)?([0-9.]+)s$")
RTT = re.compile(r"round-trip min/avg/max = ([0-9.]+)/([0-9.]+)/([0-9.]+) ms")
LOSS = re.compile(r"(\d+) packets transmitted, (\d+) packets received, (\d+)% packet loss")


def rel(path):
    return str(Path(path).relative_to(ROOT))


class Side:
    """One Linux guest's shell. Under Bulkhead both VMs share one console, and the input focus
    (Ctrl-A three times) is moved to this VM before each command."""

    focus = {}  # console -> the VM with the focus

    def __init__(self, con, vm, tagged):
        self.con, self.vm, self.tagged = con, vm, tagged
        self.sh = LinuxShell(con, vm if tagged else None)
        if tagged:
            Side.focus.setdefault(id(con), VMS[0])

    def _focus(self):
        if not self.tagged:
            return
        cur = Side.focus[id(self.con)]
        while cur != self.vm:
            seen = self._switches()
            self.con.send(b"\x01\x01\x01")
            nxt = VMS[(VMS.index(cur) + 1) % len(VMS)]
            self.con.wait_until(lambda: self._switches() > seen,
                                f"[hyp] console input -> '{nxt}'")
            cur = nxt
        Side.focus[id(self.con)] = cur

    def _switches(self):
        return len([t for t in self.con.lines("hyp") if t.startswith("console input -> ")])

    def run(self, cmd, timeout=120):
        self._focus()
        return self.sh.run(cmd, timeout)


def bulkhead_boot(run):
    out = BUILD / "bench"
    out.mkdir(parents=True, exist_ok=True)
    dts = out / "virtio.dts"
    dts.write_text(CONFIG)
    pkg = out / "virtio.pkg"
    res = subprocess.run([rel(BHPACK), "-I", "build", "--cpus", "2", "-o", rel(pkg), rel(dts)],
                         cwd=ROOT, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"virtio: bhpack failed:\n{res.stdout}{res.stderr}")
    con = Console.qemu(rel(pkg), log_path=LOGS / f"bench-virtio-bulkhead-{run}.log", smp=2,
                       mem="2G")
    return [con], {vm: Side(con, vm, True) for vm in VMS}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def direct_cmd(vm, netdev, disk=None):
    cmd = [
        "qemu-system-aarch64",
        "-M", "virt,gic-version=3", "-cpu", CPU, "-smp", "1", "-m", "256M",
        "-nographic", "-echr", "0x1d",
        "-kernel", rel(IMAGE), "-initrd", rel(INITRD), "-append", BOOTARGS,
        "-netdev", f"socket,id=n0,{netdev}",
        "-device", f"virtio-net-device,netdev=n0,mac={MAC[vm]}",
    ]  # fmt: skip
    if disk:
        cmd += ["-drive", f"file={disk},format=raw,if=none,id=d0",
                "-device", "virtio-blk-device,drive=d0"]
    return cmd


DISK = Path("/dev/shm") / f"bh-bench-virtio-{os.getpid()}.img"


def direct_boot(run):
    with open(DISK, "wb") as f:
        f.truncate(DISK_MIB << 20)
    port = free_port()
    a = Console(direct_cmd("net-a", f"listen=127.0.0.1:{port}", DISK),
                log_path=LOGS / f"bench-virtio-qemu-{run}-a.log")
    # the listener is set up before the guest runs: its first output means it listens
    a.wait_until(lambda: a.text, "QEMU net-a's first line", 60)
    b = Console(direct_cmd("net-b", f"connect=127.0.0.1:{port}"),
                log_path=LOGS / f"bench-virtio-qemu-{run}-b.log")
    return [a, b], {"net-a": Side(a, "net-a", False), "net-b": Side(b, "net-b", False)}


def seconds(lines, what):
    for t in lines:
        m = REAL.match(t.strip())
        if m:
            return int(m.group(1) or 0) * 60 + float(m.group(2))
    raise RuntimeError(f"no `time` output for {what}: {lines}")


def measure(sides):
    a, b = sides["net-a"], sides["net-b"]
    for vm, s in sides.items():
        s.sh.wait_ready(timeout=TIMEOUT)
    for vm in VMS:
        s = sides[vm]
        out = s.run("modprobe virtio_mmio && modprobe virtio_net && modprobe virtio_blk && "
                    f"{WAIT_ETH}; cat /sys/class/net/eth0/address")
        if out != [MAC[vm]]:
            raise RuntimeError(f"{vm}: eth0 is not {MAC[vm]}: {out}")
        s.run(f"ip link set eth0 up; ip addr add {IP[vm]}/24 dev eth0")
    warm = a.run(f"ping -c 3 -w 20 {IP['net-b']}")
    if not any(LOSS.search(t) and LOSS.search(t).group(2) != "0" for t in warm):
        raise RuntimeError(f"no answer to the warm-up pings: {warm}")

    res = {}
    out = a.run(f"ping -c {PINGS} -i 0.05 {IP['net-b']}")
    loss = [LOSS.search(t) for t in out if LOSS.search(t)]
    rtt = [RTT.search(t) for t in out if RTT.search(t)]
    if not loss or not rtt or loss[0].group(3) != "0":
        raise RuntimeError(f"ping: {out[-3:]}")
    res["ping_rtt_ms"] = float(rtt[0].group(2))
    res["ping_rtt_min_ms"] = float(rtt[0].group(1))

    b.run("rm -f /tmp/rx; nc -l -p 5000 | (dd bs=64k count=1 iflag=fullblock of=/dev/null "
          f"2>/dev/null; time dd bs=64k count={TCP_BLOCKS} iflag=fullblock of=/dev/null) "
          "> /tmp/rx 2>&1 & sleep 1")
    out = a.run(f"dd if=/dev/zero bs=64k count={TCP_BLOCKS + 1} 2>/dev/null | "
                f"nc -w 5 {IP['net-b']} 5000; echo nc $?")
    if out[-1:] != ["nc 0"]:
        raise RuntimeError(f"nc: {out}")
    out = b.run("wait; cat /tmp/rx")
    if f"{TCP_BLOCKS}+0 records in" not in out:
        raise RuntimeError(f"the receiver did not get {TCP_BLOCKS} whole blocks: {out}")
    res["tcp_mib_s"] = TCP_BLOCKS / 16 / seconds(out, "the TCP receiver")

    out = a.run(f"time dd if=/dev/zero of=/dev/vda bs=1M count={DISK_MIB} oflag=direct 2>&1")
    res["blk_write_mib_s"] = DISK_MIB / seconds(out, "the disk write")
    out = a.run(f"time dd if=/dev/vda of=/dev/null bs=1M count={DISK_MIB} iflag=direct 2>&1")
    res["blk_read_mib_s"] = DISK_MIB / seconds(out, "the disk read")
    return res


def git_commit():
    def git(*args):
        r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else None

    return git("rev-parse", "HEAD"), bool(git("status", "--porcelain", "--", ".",
                                              ":!bench/results"))


METRICS = [  # key, label, unit, higher is better
    ("ping_rtt_ms", "ping round trip (avg of 50)", "ms", False),
    ("ping_rtt_min_ms", "ping round trip (fastest of 50)", "ms", False),
    ("tcp_mib_s", "TCP, VM to VM (16 MiB)", "MiB/s", True),
    ("blk_write_mib_s", "virtio-blk sequential write (1 MiB, direct)", "MiB/s", True),
    ("blk_read_mib_s", "virtio-blk sequential read (1 MiB, direct)", "MiB/s", True),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=3, help="boots each way (default 3)")
    ap.add_argument("--only", choices=("bulkhead", "qemu"), help="measure one way only")
    ap.add_argument("--no-save", action="store_true", help=f"do not write {RESULTS.name}")
    args = ap.parse_args()
    missing = [p for p in (IMAGE, INITRD, HYPERVISOR, BHPACK) if not p.is_file()]
    if missing:
        sys.exit("virtio: missing " + ", ".join(rel(p) for p in missing)
                 + ": run `make` and `make linux` (or `make bench-virtio`)")

    ways = {"bulkhead": bulkhead_boot, "qemu": direct_boot}
    if args.only:
        ways = {args.only: ways[args.only]}
    samples = {w: {k: [] for k, *_ in METRICS} for w in ways}
    commands = {}
    for i in range(1, args.runs + 1):
        for way, boot in ways.items():
            cons, sides = boot(i)
            commands[way] = [shlex.join(c.cmd) for c in cons]
            try:
                res = measure(sides)
            except Exception as e:  # noqa: BLE001 - say which run, where its log is
                logs = ", ".join(str(c.log_path) for c in cons)
                sys.exit(f"virtio: {way} run {i}: {e}\n(logs: {logs})")
            finally:
                for c in cons:
                    c.close()
                DISK.unlink(missing_ok=True)
            for k, v in res.items():
                samples[way][k].append(v)
            print(f"  {way:8s} run {i}: " + ", ".join(f"{k} {v:.2f}" for k, v in res.items()),
                  flush=True)

    med = {w: {k: statistics.median(v) for k, v in s.items()} for w, s in samples.items()}
    ratio = {}
    print(f"virtio (QEMU -cpu {CPU}; median of {args.runs} boots each way):")
    print(f"  {'':52s} {'bulkhead':>10s} {'qemu':>10s} {'bulkhead/qemu':>14s}")
    for k, label, unit, _ in METRICS:
        cells = [f"{med[w][k]:10.2f}" if w in med else f"{'':10s}" for w in ("bulkhead", "qemu")]
        r = med["bulkhead"][k] / med["qemu"][k] if len(med) == 2 else None
        ratio[k] = r
        print(f"  {label + ' (' + unit + ')':52s} {' '.join(cells)} "
              f"{'' if r is None else f'{r:14.2f}'}")
    if args.no_save:
        return
    commit, dirty = git_commit()
    result = {
        "benchmark": "virtio",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit,
        "dirty": dirty,
        "host_cpus": os.cpu_count(),
        "runs": args.runs,
        "qemu": subprocess.run(["qemu-system-aarch64", "--version"], capture_output=True,
                               text=True).stdout.splitlines()[0],
        "commands": commands,
        "bulkhead_config": CONFIG,
        "units": {k: u for k, _, u, _ in METRICS},
        "samples": samples,
        "median": med,
        "ratio_bulkhead_over_qemu": ratio,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  written to {rel(RESULTS)}")


if __name__ == "__main__":
    main()
