#!/usr/bin/env python3
"""Where the instructions of each exit go: a per-function profile of the bench guest's
operations under Bulkhead, from QEMU's execution trace (bench/README.md).

Builds a variant of guests/bench with fewer iterations (-DN_ITER, -DN_TIMER_ROUNDS) into
build/bench-profile/, boots the same two systems as bench/run.py under
`-icount shift=0,sleep=off -d exec,nochain,in_asm` and streams the trace through a FIFO: every
executed translation block is counted with its number of instructions and charged to the
hypervisor function (build/bulkhead.elf) or guest it belongs to, and to the operation the bench
guest was in when it ran (its op_<name>() functions, entered and left by program counter).

    bench/profile.py                  # every operation, top 12 hypervisor functions each
    bench/profile.py --ops hvc_psci_version,vtimer_irq_latency --top 20

Counts are instructions per operation: the op function's whole run (warm-up, the loop, the
counter reads) divided by its number of operations, so they slightly exceed run.py's figures.
A translation block cut short by an exception (an MMIO access in its middle) is counted whole.
Python 3 standard library only.
"""

import argparse
import bisect
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
OUT = BUILD / "bench-profile"
CROSS = os.environ.get("CROSS", "aarch64-linux-gnu-")

# How many operations each op_<name>() performs, for N = N_ITER, R = N_TIMER_ROUNDS.
def op_count(name, n, rounds):
    return {"ipi_roundtrip": n + 1, "vtimer_irq_latency": rounds + 1,
            "vm_switch": 2 * n}.get(name, n)


def make_vars():
    """GUEST_CFLAGS and GUEST_LDFLAGS as guests/guests.mk sets them."""
    text = (ROOT / "guests" / "guests.mk").read_text().replace("\\\n", " ")
    out = {}
    for key in ("GUEST_CFLAGS", "GUEST_LDFLAGS"):
        m = re.search(rf"^{key}\s*:?=(.*)$", text, re.M)
        out[key] = shlex.split(m.group(1)) if m else []
    return out


def build_variant(n_iter, rounds):
    v = make_vars()
    cflags = [f for f in v["GUEST_CFLAGS"] if f not in ("-MMD", "-MP")]
    OUT.mkdir(parents=True, exist_ok=True)
    objs = []
    for src in sorted((ROOT / "guests" / "bench").glob("*.[cS]")):
        obj = OUT / (src.name + ".o")
        subprocess.run([CROSS + "gcc", *cflags, f"-DN_ITER={n_iter}",
                        f"-DN_TIMER_ROUNDS={rounds}", "-c", "-o", str(obj), str(src)],
                       cwd=ROOT, check=True)
        objs.append(str(obj))
    # the runtime objects `make guests` built (guests/lib, and whatever guests.mk shares)
    lib = sorted(str(p) for d in ("lib", "shared") for p in (BUILD / "guests" / d).glob("*.o"))
    elf = OUT / "bench.elf"
    subprocess.run([CROSS + "ld", *v["GUEST_LDFLAGS"], "-o", str(elf), *objs, *lib],
                   cwd=ROOT, check=True)
    subprocess.run([CROSS + "objcopy", "-O", "binary", str(elf), str(OUT / "bench.bin")],
                   check=True)
    shutil.copyfile(BUILD / "guests" / "benchpeer.bin", OUT / "benchpeer.bin")
    pkgs = {}
    for name in ("bench", "bench_switch"):
        dts = (ROOT / "bench" / "configs" / f"{name}.dts").read_text()
        dts = dts.replace('"guests/bench.bin"', '"bench.bin"')
        dts = dts.replace('"guests/benchpeer.bin"', '"benchpeer.bin"')
        (OUT / f"{name}.dts").write_text(dts)
        pkgs[name] = OUT / f"{name}.pkg"
        subprocess.run([str(BUILD / "tools" / "bhpack"), "--cpus", "1", "-o", str(pkgs[name]),
                        str(OUT / f"{name}.dts")], check=True)
    return elf, pkgs


class Symbols:
    def __init__(self, elf):
        out = subprocess.run([CROSS + "nm", "-n", str(elf)], capture_output=True, text=True,
                             check=True).stdout
        self.addr, self.name, self.by_addr = [], [], defaultdict(list)
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "tTwW":
                a = int(parts[0], 16)
                self.addr.append(a)
                self.name.append(parts[2])
                self.by_addr[a].append(parts[2])
        self.lo, self.hi = self.addr[0], self.addr[-1] + 0x1000

    def lookup(self, pc):
        i = bisect.bisect_right(self.addr, pc) - 1
        return self.name[i] if i >= 0 else "?"


TRACE = re.compile(r"^Trace \d+: (0x[0-9a-f]+) \[[0-9a-f]+/([0-9a-f]+)/")
INSN = re.compile(r"^(0x[0-9a-f]+):\s")


def profile_run(pkg, hyp_syms, guest_syms, mode, timeout):
    """Boots pkg with the trace on; returns {op: {"guest": n, "peer": n, "hyp": {fn: n}}}."""
    # entry address -> the context it starts: op_<name> starts <name>; report()/skipped() end it
    entries = {}
    for a, names in guest_syms.by_addr.items():
        ops = [n[3:] for n in names if n.startswith("op_")]
        if ops:
            want = "vm_switch" if mode == "switch" else None
            entries[a] = want if want in ops else next(o for o in ops if o != "vm_switch")
        elif "report" in names or "skipped" in names:
            entries[a] = None
    peer_lo, peer_hi = 0x40090000, 0x400A0000  # guests/benchpeer/loop.S
    prof = defaultdict(lambda: {"guest": 0, "peer": 0, "other_guest": 0,
                                "hyp": defaultdict(int)})
    tmp = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    fifo = tmp / "trace"
    os.mkfifo(fifo)
    env = dict(os.environ, QEMU_SMP="1", QEMU_MEM="1G", BULKHEAD=str(BUILD / "bulkhead.bin"))
    cmd = ["scripts/qemu.sh", str(pkg), "-icount", "shift=0,sleep=off",
           "-d", "exec,nochain,in_asm", "-D", str(fifo)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    console, done = [], threading.Event()

    def stop():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # QEMU flushes its trace and exits: EOF

    def read_console():
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            console.append(line)
            if "bench: done" in line and not done.is_set():
                done.set()
                # an idle machine writes no more trace: stop QEMU once the guest is done
                t = threading.Timer(3.0, stop)
                t.daemon = True
                t.start()
        done.set()

    watchdog = threading.Timer(timeout, stop)
    watchdog.daemon = True
    watchdog.start()

    threading.Thread(target=read_console, daemon=True).start()
    ctx = None
    tb_size, tb_size_pc = {}, {}
    pending = None  # (first pc, count) of the last IN: block
    in_block, block_pc, block_n = False, None, 0
    hyp_fn_cache = {}
    with open(fifo, "r", errors="replace") as f:
        for line in f:
            if in_block:
                m = INSN.match(line)
                if m:
                    if block_pc is None:
                        block_pc = int(m.group(1), 16)
                    block_n += 1
                    continue
                if line.strip() == "":
                    in_block = False
                    if block_pc is not None:
                        pending = (block_pc, block_n)
                        tb_size_pc[block_pc] = block_n
                continue
            if line.startswith("IN:"):
                in_block, block_pc, block_n = True, None, 0
                continue
            m = TRACE.match(line)
            if not m:
                continue
            host, pc = m.group(1), int(m.group(2), 16)
            if pending and pending[0] == pc:
                tb_size[host] = pending[1]
                pending = None
            n = tb_size.get(host) or tb_size_pc.get(pc, 1)
            if hyp_syms.lo <= pc < hyp_syms.hi:
                if ctx:
                    fn = hyp_fn_cache.get(pc)
                    if fn is None:
                        fn = hyp_fn_cache[pc] = hyp_syms.lookup(pc)
                    prof[ctx]["hyp"][fn] += n
                continue
            if pc in entries:
                ctx = entries[pc]
            if not ctx:
                continue
            if peer_lo <= pc < peer_hi:
                prof[ctx]["peer"] += n
            elif guest_syms.lo <= pc < guest_syms.hi:
                prof[ctx]["guest"] += n
            else:
                prof[ctx]["other_guest"] += n
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    shutil.rmtree(tmp, ignore_errors=True)
    (OUT / f"console-{mode}.log").write_text("\n".join(console) + "\n")
    measured = {}
    for line in console:
        m = re.search(r"bench: (\w+) (\d+\.\d+) \(ticks", line)
        if m:
            measured[m.group(1)] = float(m.group(2))
    return prof, measured


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iter", type=int, default=100, help="N_ITER of the variant (default 100)")
    ap.add_argument("--rounds", type=int, default=20,
                    help="N_TIMER_ROUNDS of the variant (default 20)")
    ap.add_argument("--ops", default="", help="comma-separated operations (default: all)")
    ap.add_argument("--top", type=int, default=12, help="hypervisor functions shown per op")
    ap.add_argument("--no-build", action="store_true", help="do not run `make all` first")
    ap.add_argument("--no-save", action="store_true",
                    help="do not write bench/results/profile-latest.json")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()

    if not args.no_build:
        subprocess.run(["make", "all"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    elf, pkgs = build_variant(args.iter, args.rounds)
    hyp_syms, guest_syms = Symbols(BUILD / "bulkhead.elf"), Symbols(elf)
    want = set(filter(None, args.ops.split(",")))
    result = {}
    for mode, pkg in (("suite", pkgs["bench"]), ("switch", pkgs["bench_switch"])):
        if want and mode == "switch" and "vm_switch" not in want:
            continue
        prof, measured = profile_run(pkg, hyp_syms, guest_syms, mode, args.timeout)
        for op, p in prof.items():
            if (want and op not in want) or (mode == "switch" and op != "vm_switch"):
                continue
            k = op_count(op, args.iter, args.rounds)
            hyp_total = sum(p["hyp"].values())
            result[op] = {
                "per_op": round((p["guest"] + p["peer"] + p["other_guest"] + hyp_total) / k, 1),
                "measured_this_variant": measured.get(op),
                "operations": k,
                "guest": round(p["guest"] / k, 1),
                "peer_vm": round(p["peer"] / k, 1),
                "hyp": round(hyp_total / k, 1),
                "hyp_functions": {fn: round(c / k, 1) for fn, c in
                                  sorted(p["hyp"].items(), key=lambda x: -x[1])},
            }
    order = ["floor_loop", "hvc_psci_version", "mmio_read_gicd_typer", "mmio_write_gicd",
             "mmio_read_uart_fr", "mmio_write_uart_imsc",
             "mmio_write_uart_dr", "wfe", "ipi_roundtrip",
             "vtimer_irq_latency", "wfi_noswitch", "vm_switch"]
    for op in sorted(result, key=lambda o: order.index(o) if o in order else 99):
        r = result[op]
        meas = r["measured_this_variant"]
        print(f"\n{op}: {r['per_op']:,.1f} instructions per operation"
              + (f" (measured {meas:,.2f}" + (" = latency only; the profile is the whole round"
                                              if op == "vtimer_irq_latency" else "") + ")"
                 if meas is not None else "")
              + f": guest {r['guest']:,.1f}"
              + (f", peer VM {r['peer_vm']:,.1f}" if r["peer_vm"] else "")
              + f", hypervisor {r['hyp']:,.1f}")
        for fn, c in list(r["hyp_functions"].items())[:args.top]:
            print(f"    {c:9,.1f}  {fn}")
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True,  # noqa: E731
                                    text=True).stdout.strip()
    text = json.dumps({"commit": git("rev-parse", "HEAD"),
                       "dirty": bool(git("status", "--porcelain")),
                       "iter": args.iter, "rounds": args.rounds,
                       "unit": "instructions per operation, by hypervisor function",
                       "ops": result}, indent=2) + "\n"
    (OUT / "profile.json").write_text(text)
    if not args.no_save:
        (ROOT / "bench" / "results").mkdir(exist_ok=True)
        (ROOT / "bench" / "results" / "profile-latest.json").write_text(text)
    print(f"\nwrote {(OUT / 'profile.json').relative_to(ROOT)}"
          + ("" if args.no_save else " and bench/results/profile-latest.json"))


if __name__ == "__main__":
    sys.exit(main())
