#!/usr/bin/python3
"""Linux boot time directly on QEMU and under Bulkhead, as a ratio.

Boots the same kernel and initramfs (build/linux/, from scripts/fetch-linux.sh) N times each way
and measures the host wall time from starting QEMU to the init's line "bulkhead-init: ready":

  direct    qemu-system-aarch64 -M virt,gic-version=3 -cpu max,pauth-impdef=on -smp 2 -m 1G
            -kernel build/linux/Image -initrd build/linux/initramfs.cpio.gz
            -append "<bootargs> mem=512M"
  bulkhead  scripts/qemu.sh (-M virt,virtualization=on,gic-version=3, same -cpu, -smp 2, -m 1G)
            with one VM "linux": 2 vCPUs on physical CPUs 0 and 1, 512 MiB of RAM, the same
            image, initrd and <bootargs>

Both kernels manage 512 MiB (mem=512M for the direct one) on two CPUs, and print the same boot
log on the same PL011 (emulated by QEMU directly, by Bulkhead under it). Runs alternate between
the two ways; the medians and their ratio are printed and written to
bench/results/linux_boot.json with the git commit. Each run's console is kept in
build/logs/bench-linux-<way>-<run>.log.

Usage: bench/linux_boot.py [-n RUNS] [--timeout SECONDS] [--only direct|bulkhead]
Needs `make` and `make linux` first (`make bench-linux` does all three).
"""

import argparse
import datetime
import json
import os
import re
import select
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
IMAGE = BUILD / "linux" / "Image"
INITRD = BUILD / "linux" / "initramfs.cpio.gz"
BHPACK = BUILD / "tools" / "bhpack"
HYPERVISOR = BUILD / "bulkhead.bin"
RESULTS = ROOT / "bench" / "results" / "linux_boot.json"

CPU = "max,pauth-impdef=on"
SMP = 2
MEM = "1G"
VM_MEM = 512 << 20
BOOTARGS = "console=ttyAMA0 earlycon=pl011,0x9000000"
READY = "bulkhead-init: ready"
KERNEL_START = "Booting Linux on physical CPU"  # the kernel's first line (with earlycon)
INIT_LINE = re.compile(r"bulkhead-init: .*, up ([0-9.]+) s$")

CONFIG = f"""/dts-v1/;
/* bench/linux_boot.py: one Linux VM with 2 vCPUs (generated; see the script) */
/ {{
    compatible = "bulkhead,system-v1";

    vms {{
        linux {{
            vcpus = <2>;
            pcpus = <0 1>;
            memory = <0x0 0x40000000 0x0 {VM_MEM:#x}>;
            image = "linux/Image";
            initrd = "linux/initramfs.cpio.gz";
            bootargs = "{BOOTARGS}";
        }};
    }};
}};
"""


def rel(path):
    """path relative to the repository (commands run there), for logs and results."""
    return str(Path(path).relative_to(ROOT))


def direct_cmd():
    return [
        "qemu-system-aarch64",
        "-M", "virt,gic-version=3",
        "-cpu", CPU, "-smp", str(SMP), "-m", MEM,
        "-nographic",
        "-kernel", rel(IMAGE), "-initrd", rel(INITRD),
        "-append", f"{BOOTARGS} mem={VM_MEM >> 20}M",
    ]  # fmt: skip


def bulkhead_cmd(pkg):
    return ["scripts/qemu.sh", rel(pkg)]


def pack():
    """Writes the bench's system description and packs it; returns the package's path."""
    out = BUILD / "bench"
    out.mkdir(parents=True, exist_ok=True)
    dts = out / "linux_boot.dts"
    dts.write_text(CONFIG)
    pkg = out / "linux_boot.pkg"
    res = subprocess.run(
        [rel(BHPACK), "-I", "build", "--cpus", str(SMP), "-o", rel(pkg), rel(dts)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if res.returncode != 0:
        sys.exit(f"linux_boot: bhpack failed:\n{res.stdout}{res.stderr}")
    return pkg


def boot_once(cmd, ready_line, log_path, timeout, env=None):
    """Starts cmd and returns (seconds to ready_line, seconds to the kernel's first line,
    guest uptime at /init); the last two are None if not seen. QEMU is killed afterwards."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    buf = b""
    uptime = None
    elapsed = None
    kernel = None
    try:
        with open(log_path, "wb") as log:
            log.write(("# " + shlex.join(cmd) + "\n").encode())
            while True:
                left = t0 + timeout - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"no {ready_line!r} within {timeout:g} s (log: {log_path})")
                r, _, _ = select.select([proc.stdout], [], [], min(left, 1.0))
                if not r:
                    continue
                data = os.read(proc.stdout.fileno(), 65536)
                now = time.monotonic()
                if not data:
                    raise RuntimeError(f"QEMU exited before {ready_line!r} (log: {log_path})")
                log.write(data)
                buf += data
                *lines, rest = buf.replace(b"\r", b"").split(b"\n")
                buf = rest
                for raw in lines:
                    line = raw.decode(errors="replace")
                    if kernel is None and KERNEL_START in line:
                        kernel = now - t0
                    m = INIT_LINE.search(line)
                    if m:
                        uptime = float(m.group(1))
                    if line == ready_line:
                        elapsed = now - t0
                        break
                if elapsed is not None:
                    return elapsed, kernel, uptime
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=5)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        proc.stdout.close()


def git_commit():
    def git(*args):
        r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--", ".", ":!bench/results"))
    return commit, dirty


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=3, help="boots each way (default 3)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per boot (default 300)")
    ap.add_argument("--only", choices=("direct", "bulkhead"), help="measure one way only")
    ap.add_argument("--no-save", action="store_true", help=f"do not write {RESULTS.name}")
    args = ap.parse_args()

    missing = [p for p in (IMAGE, INITRD) if not p.is_file()]
    if args.only != "direct":
        missing += [p for p in (HYPERVISOR, BHPACK) if not p.is_file()]
    if missing:
        sys.exit(
            "linux_boot: missing " + ", ".join(str(p.relative_to(ROOT)) for p in missing)
            + ": run `make` and `make linux` (or `make bench-linux`)"
        )

    ways = {}
    if args.only != "bulkhead":
        ways["direct"] = (direct_cmd(), READY, None)
    if args.only != "direct":
        env = dict(os.environ, QEMU_SMP=str(SMP), QEMU_MEM=MEM)
        ways["bulkhead"] = (bulkhead_cmd(pack()), f"[linux] {READY}", env)

    samples = {w: [] for w in ways}
    kernel_at = {w: [] for w in ways}
    uptimes = {w: [] for w in ways}
    for i in range(1, args.runs + 1):
        for way, (cmd, ready, env) in ways.items():
            log = BUILD / "logs" / f"bench-linux-{way}-{i}.log"
            try:
                t, k, up = boot_once(cmd, ready, log, args.timeout, env)
            except RuntimeError as e:
                sys.exit(f"linux_boot: {way} run {i}: {e}")
            samples[way].append(t)
            kernel_at[way].append(k)
            uptimes[way].append(up)
            k_s = f", kernel's first line at {k:.2f} s" if k is not None else ""
            up_s = f", guest uptime at /init {up:.2f} s" if up is not None else ""
            print(f"  {way:8s} run {i}: {t:6.2f} s to the ready marker{k_s}{up_s}", flush=True)

    med = {w: statistics.median(s) for w, s in samples.items()}

    def median_of(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    med_kernel = {w: median_of(v) for w, v in kernel_at.items()}
    med_uptime = {w: median_of(v) for w, v in uptimes.items()}
    print(f"Linux boot to '{READY}' (QEMU {CPU}, -smp {SMP}, -m {MEM}; median of {args.runs}):")
    for w in ways:
        extra = ""
        if med_kernel[w] is not None:
            extra += f"; kernel's first line at {med_kernel[w]:.2f} s"
        if med_uptime[w] is not None:
            extra += f"; guest uptime at /init {med_uptime[w]:.2f} s"
        runs = ", ".join(f"{t:.2f}" for t in samples[w])
        print(f"  {w:8s} {med[w]:6.2f} s   (runs: {runs}{extra})")
    ratio = med["bulkhead"] / med["direct"] if len(med) == 2 else None
    if ratio is not None:
        print(f"  ratio bulkhead/direct: {ratio:.2f}")

    if args.no_save:
        return
    commit, dirty = git_commit()
    version = BUILD / "linux" / "VERSION"
    kver = version.read_text().strip() if version.exists() else None
    result = {
        "benchmark": "linux_boot",
        "what": f"host wall seconds from starting QEMU to the line '{READY}'",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit,
        "dirty": dirty,
        "kernel": kver,
        "host_cpus": os.cpu_count(),
        "runs": args.runs,
        "qemu": subprocess.run(
            ["qemu-system-aarch64", "--version"], capture_output=True, text=True
        ).stdout.splitlines()[0],
        "commands": {w: shlex.join(c) for w, (c, _, _) in ways.items()},
        "bulkhead_config": CONFIG if "bulkhead" in ways else None,
        "seconds": samples,
        "seconds_to_kernel_first_line": kernel_at,
        "guest_uptime_at_init": uptimes,
        "median_seconds": med,
        "median_seconds_to_kernel_first_line": med_kernel,
        "median_guest_uptime_at_init": med_uptime,
        "ratio_bulkhead_over_direct": ratio,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
