#!/usr/bin/env python3
"""Exit-cost benchmarks: what each kind of VM exit costs under Bulkhead, in instructions.

Runs the bench guest (guests/bench) under Bulkhead and directly on QEMU, both with
`-icount shift=0,sleep=off` (every executed instruction advances virtual time by 1 ns, so the
guest's counter deltas count instructions, guest and hypervisor together, and runs repeat
exactly), and prints a table beside the anchors' KVM and Xen figures. See bench/README.md.

    bench/run.py                 # make all, run once, print the table, save bench/results/
    bench/run.py --runs 2        # run twice and check that both runs give identical figures
    bench/run.py --hyp OTHER.bin --no-save   # another hypervisor binary (method check)

Python 3 standard library only.
"""

import argparse
import datetime
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
CONFIGS = ROOT / "bench" / "configs"
RESULTS = ROOT / "bench" / "results"
LOGS = BUILD / "logs"
ANCHORS_DIR = ROOT.parent / "shared" / "anchors"

ICOUNT = ["-icount", "shift=0,sleep=off"]
# Under Bulkhead: scripts/qemu.sh adds -M virt,virtualization=on,gic-version=3
# -cpu max,pauth-impdef=on -nographic -kernel <hypervisor> -initrd <package>.
QEMU_SMP, QEMU_MEM = "1", "1G"
BARE_FLAGS = ["-M", "virt,gic-version=3", "-cpu", "max,pauth-impdef=on", "-smp", "1",
              "-m", "1G", "-nographic"] + ICOUNT

# The anchors' published figures (instructions per operation), from ../shared/anchors/README.md,
# "Measured (2026-11-22, 2-core x86_64, QEMU 7.2)": KVM/arm64 6.1 VHE with the in-kernel vGIC,
# and Xen 4.17 dom0less domU. Same method (QEMU 7.2 TCG, -icount shift=0,sleep=off, -smp 1).
ANCHOR_KVM = {
    "floor_loop": 3.00,
    "hvc_psci_version": 1057,
    "mmio_read_gicd_typer": 1831,
    "mmio_read_uart_fr": 5368,
    "vtimer_irq_latency": 2446,
}
ANCHOR_KVM_NO_VGIC = {
    "floor_loop": 3.00,
    "hvc_psci_version": 1481,
    "mmio_read_gicd_typer": 5093,
    "mmio_read_uart_fr": 5090,
}
ANCHOR_XEN = {
    "floor_loop": 3.00,
    "hvc_psci_version": 474,
    "mmio_read_gicd_typer": 602,
    "mmio_read_uart_fr": 626,
    "vtimer_irq_latency": 4416,
}

# Order of the table; anything else the guest prints comes after.
ORDER = ["floor_loop", "hvc_psci_version", "mmio_read_gicd_typer", "mmio_write_gicd",
         "mmio_read_uart_fr", "mmio_write_uart_imsc",
             "mmio_write_uart_dr", "wfe", "ipi_roundtrip",
         "vtimer_irq_latency", "wfi_noswitch", "vm_switch_roundtrip", "vm_switch"]

# bench: <name> <value> (ticks T n N)   |   bench: <name> skipped (<why>)
LINE = re.compile(r"bench: (\w+) (\d+\.\d+) \(ticks (\d+) n (\d+)\)")
SKIP = re.compile(r"bench: (\w+) skipped \((.*)\)")
# The anchors' guest: BENCH <name> <value>[ (rounds R)]
ANCHOR_LINE = re.compile(r"BENCH (\w+) (\d+(?:\.\d+)?)(?: \(rounds (\d+)\))?\s*$")


def log(msg):
    print(msg, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, cwd=ROOT, check=True, **kw)


def git(*args):
    try:
        r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
        return r.stdout.strip() if r.returncode == 0 else None
    except OSError:
        return None


# ---- building ----

def build_anchors():
    """Copies the anchors' benchmark guest into build/anchors/src and builds it there (the
    shared folder is read-only and not ours); returns build/anchors/bench.bin or None."""
    src = ANCHORS_DIR / "benchguest"
    if not (src / "bench.c").exists():
        return None
    dst = BUILD / "anchors" / "src"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    for p in [dst, *dst.iterdir()]:
        p.chmod(p.stat().st_mode | 0o200)
    subprocess.run(["sh", str(dst / "build.sh")], cwd=dst, check=True, capture_output=True)
    out = BUILD / "anchors" / "bench.bin"
    shutil.copyfile(dst / "bench.bin", out)
    return out


def pack(config, name):
    out = BUILD / "pkg" / f"{name}.pkg"
    out.parent.mkdir(parents=True, exist_ok=True)
    sh([str(BUILD / "tools" / "bhpack"), "-I", "build", "--cpus", QEMU_SMP, "-o",
        str(out.relative_to(ROOT)), str(config.relative_to(ROOT))])
    return out


# ---- running ----

def run_qemu(cmd, env, log_path, done_re, timeout):
    """Runs QEMU until a line matches done_re (or the timeout), then stops it. Returns the
    console lines and whether done_re was seen."""
    LOGS.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    lines, q = [], queue.Queue()

    def reader():
        for raw in proc.stdout:
            q.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        q.put(None)

    threading.Thread(target=reader, daemon=True).start()
    deadline = time.monotonic() + timeout
    done = False
    try:
        while not done:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                line = q.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if line is None:
                break
            lines.append(line)
            done = bool(done_re.search(line))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # QEMU and only QEMU: its own session
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log_path.write_text("\n".join(lines) + "\n")
    return lines, done


def parse_bench(lines):
    ops, skipped, notes = {}, {}, []
    for line in lines:
        m = LINE.search(line)
        if m:
            ops[m.group(1)] = {"value": float(m.group(2)), "ticks": int(m.group(3)),
                               "n": int(m.group(4))}
            continue
        m = SKIP.search(line)
        if m:
            skipped[m.group(1)] = m.group(2)
        elif "bench: note" in line or "FAIL" in line or "bench: start" in line:
            notes.append(re.sub(r"^\[\w+\] ", "", line))
    return ops, skipped, notes


def parse_anchor_guest(lines):
    ops = {}
    for line in lines:
        m = ANCHOR_LINE.search(line)
        if m and m.group(1) not in ("start", "done"):
            ops[m.group(1)] = float(m.group(2))
    return ops


class Runner:
    def __init__(self, hyp, timeout):
        self.hyp = hyp
        self.timeout = timeout

    def bulkhead(self, pkg, tag, done_re):
        env = dict(os.environ, QEMU_SMP=QEMU_SMP, QEMU_MEM=QEMU_MEM, BULKHEAD=str(self.hyp))
        cmd = ["scripts/qemu.sh", str(pkg.relative_to(ROOT))] + ICOUNT
        lines, done = run_qemu(cmd, env, LOGS / f"{tag}.log", done_re, self.timeout)
        if any(l.startswith("[hyp] PANIC") for l in lines):
            raise SystemExit(f"{tag}: the hypervisor panicked, see {LOGS / (tag + '.log')}")
        return lines, done

    def bare(self, image, tag, done_re):
        cmd = ["qemu-system-aarch64"] + BARE_FLAGS + ["-kernel", str(image.relative_to(ROOT))]
        return run_qemu(cmd, dict(os.environ), LOGS / f"{tag}.log", done_re, self.timeout)


DONE = re.compile(r"bench: done")
ANCHOR_DONE = re.compile(r"BENCH done")


def one_run(r, k, pkgs, anchors_bin):
    """One pass over every system; returns {system: {op: {...}}} plus skips and notes."""
    out = {"ops": {}, "skipped": {}, "notes": {}, "incomplete": []}
    jobs = [("bulkhead", lambda t: r.bulkhead(pkgs["bench"], t, DONE)),
            ("bulkhead_switch", lambda t: r.bulkhead(pkgs["bench_switch"], t, DONE)),
            ("bare_qemu", lambda t: r.bare(BUILD / "guests" / "bench.bin", t, DONE))]
    for system, fn in jobs:
        t0 = time.monotonic()
        lines, done = fn(f"bench-{system}-{k}")
        ops, skipped, notes = parse_bench(lines)
        out["ops"][system], out["skipped"][system], out["notes"][system] = ops, skipped, notes
        if not done:
            out["incomplete"].append(system)
        log(f"  run {k}: {system}: {len(ops)} figures in {time.monotonic() - t0:.1f} s"
            + ("" if done else "  (INCOMPLETE: no 'bench: done', see build/logs)"))
    if anchors_bin:
        for system, fn in [("anchors_guest_bulkhead",
                            lambda t: r.bulkhead(pkgs["anchors"], t, ANCHOR_DONE)),
                           ("anchors_guest_bare_qemu",
                            lambda t: r.bare(anchors_bin, t, ANCHOR_DONE))]:
            lines, done = fn(f"bench-{system}-{k}")
            out["ops"][system] = parse_anchor_guest(lines)
            if not done:
                out["incomplete"].append(system)
            log(f"  run {k}: {system}: {len(out['ops'][system])} figures"
                + ("" if done else "  (INCOMPLETE)"))
    return out


# ---- reporting ----

def fmt(v, nd=2):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return f"{v:,.{nd}f}"


def table(rows, header):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(  # noqa: E731
        str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def combine(res, have_anchors):
    """operation -> figures, from one run's results."""
    bh = dict(res["ops"]["bulkhead"])
    for name in ("vm_switch_roundtrip", "vm_switch"):
        if name in res["ops"]["bulkhead_switch"]:
            bh[name] = res["ops"]["bulkhead_switch"][name]
    bare = res["ops"]["bare_qemu"]
    floor = bh.get("floor_loop", {}).get("value")
    names = [n for n in ORDER if n in bh or n in bare] + sorted(set(bh) - set(ORDER))
    ops = {}
    for n in names:
        b = bh.get(n, {}).get("value")
        e = {
            "bulkhead": b,
            "bulkhead_ticks": bh.get(n, {}).get("ticks"),
            "n": bh.get(n, {}).get("n"),
            "bare_qemu": bare.get(n, {}).get("value"),
            "bare_qemu_skipped": res["skipped"]["bare_qemu"].get(n),
            "bulkhead_minus_floor": None if b is None or floor is None
            else round(b - floor, 2),
        }
        if have_anchors:
            for key, src in (("xen_4_17", ANCHOR_XEN), ("kvm_6_1", ANCHOR_KVM),
                             ("kvm_6_1_no_vgic", ANCHOR_KVM_NO_VGIC)):
                a = src.get(n)
                e[key] = a
                e["ratio_" + key] = round(b / a, 3) if a and b is not None else None
        ops[n] = e
    return ops


def print_table(ops, have_anchors):
    header = ["operation", "Bulkhead", "bare QEMU", "BH - floor"]
    if have_anchors:
        header += ["Xen 4.17", "BH/Xen", "KVM 6.1", "BH/KVM"]
    rows = []
    for n, e in ops.items():
        bare = e["bare_qemu"] if e["bare_qemu"] is not None else (
            "skipped" if e["bare_qemu_skipped"] else None)
        row = [n, fmt(e["bulkhead"]), fmt(bare), fmt(e["bulkhead_minus_floor"])]
        if have_anchors:
            row += [fmt(e["xen_4_17"], 0 if n != "floor_loop" else 2),
                    fmt(e["ratio_xen_4_17"], 2),
                    fmt(e["kvm_6_1"], 0 if n != "floor_loop" else 2),
                    fmt(e["ratio_kvm_6_1"], 2)]
        rows.append(row)
    log(table(rows, header))


def print_anchor_guest(res, have_anchors):
    bh = res["ops"].get("anchors_guest_bulkhead", {})
    bare = res["ops"].get("anchors_guest_bare_qemu", {})
    if not bh:
        return
    rows = []
    for n in bh:
        rows.append([n, fmt(bh.get(n)), fmt(bare.get(n)), fmt(ANCHOR_XEN.get(n), 0),
                     fmt(ANCHOR_KVM.get(n), 0), fmt(ANCHOR_KVM_NO_VGIC.get(n), 0)])
    log("\nThe anchors' own guest (../shared/anchors/benchguest), instructions per operation:")
    log(table(rows, ["operation", "Bulkhead", "bare QEMU", "Xen 4.17", "KVM 6.1",
                     "KVM no vGIC"]))


def fingerprint(res):
    """Everything a run measured, for the identical-runs check."""
    fp = {}
    for system, ops in res["ops"].items():
        for n, v in ops.items():
            fp[f"{system}/{n}"] = (v["ticks"], v["n"]) if isinstance(v, dict) else v
    return fp


def qemu_version():
    try:
        out = subprocess.run(["qemu-system-aarch64", "--version"], capture_output=True,
                             text=True, timeout=30).stdout
        return out.splitlines()[0] if out else None
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1,
                    help="run everything N times and check the figures are identical")
    ap.add_argument("--no-build", action="store_true", help="do not run `make all` first")
    ap.add_argument("--hyp", default=str(BUILD / "bulkhead.bin"),
                    help="hypervisor image (default build/bulkhead.bin)")
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    ap.add_argument("--no-anchors", action="store_true",
                    help="do not build and run the anchors' own guest")
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds each QEMU run may take (default 300)")
    args = ap.parse_args()

    if not args.no_build:
        sh(["make", "all"], stdout=subprocess.DEVNULL)
    hyp = Path(args.hyp).resolve()
    if not hyp.exists():
        raise SystemExit(f"no hypervisor image {hyp}: run `make` first")
    have_anchors = (ANCHORS_DIR / "README.md").exists()
    anchors_bin = None
    if have_anchors and not args.no_anchors:
        try:
            anchors_bin = build_anchors()
        except (subprocess.CalledProcessError, OSError) as e:
            log(f"note: could not build the anchors' guest ({e}); skipping it")
    pkgs = {"bench": pack(CONFIGS / "bench.dts", "bench"),
            "bench_switch": pack(CONFIGS / "bench_switch.dts", "bench_switch")}
    if anchors_bin:
        pkgs["anchors"] = pack(CONFIGS / "anchors.dts", "bench_anchors")

    r = Runner(hyp, args.timeout)
    log(f"hypervisor {hyp.relative_to(ROOT) if hyp.is_relative_to(ROOT) else hyp}; "
        f"QEMU -smp {QEMU_SMP} -m {QEMU_MEM} {' '.join(ICOUNT)}")
    results = [one_run(r, k + 1, pkgs, anchors_bin) for k in range(args.runs)]
    res = results[0]

    ops = combine(res, have_anchors)
    log("\nInstructions per operation (QEMU TCG, -icount shift=0: 1 instruction = 1 ns):")
    print_table(ops, have_anchors)
    print_anchor_guest(res, have_anchors)
    for system in ("bulkhead", "bulkhead_switch", "bare_qemu"):
        for note in res["notes"][system]:
            log(f"  [{system}] {note}")

    identical = None
    if args.runs > 1:
        fps = [fingerprint(x) for x in results]
        diffs = sorted({k for fp in fps[1:] for k in set(fp) | set(fps[0])
                        if fp.get(k) != fps[0].get(k)})
        identical = not diffs
        log(f"\nmethod check, {args.runs} runs: "
            + ("IDENTICAL (every figure, to the counter tick)" if identical
               else "DIFFERENT: " + ", ".join(
                   f"{k}: " + " vs ".join(str(fp.get(k)) for fp in fps) for k in diffs)))

    incomplete = sorted({s for x in results for s in x["incomplete"]})
    if incomplete:
        log(f"\nINCOMPLETE runs: {', '.join(incomplete)} (see build/logs/bench-*.log)")

    if not args.no_save:
        commit = git("rev-parse", "HEAD")
        status = git("status", "--porcelain", "--", ".", ":!bench/results")
        now = datetime.datetime.now(datetime.timezone.utc)
        doc = {
            "date": now.isoformat(timespec="seconds"),
            "commit": commit,
            "dirty": bool(status),
            "qemu": qemu_version(),
            "qemu_flags": {
                "bulkhead": "scripts/qemu.sh (-M virt,virtualization=on,gic-version=3 "
                            "-cpu max,pauth-impdef=on -nographic) with QEMU_SMP=1 QEMU_MEM=1G "
                            + " ".join(ICOUNT),
                "bare_qemu": " ".join(BARE_FLAGS) + " -kernel build/guests/bench.bin",
            },
            "unit": "instructions per operation (icount shift=0: 1 instruction = 1 ns; "
                    "instructions = counter ticks * 1e9 / CNTFRQ)",
            "configs": {k: str(p.relative_to(ROOT)) for k, p in
                        (("bulkhead", CONFIGS / "bench.dts"),
                         ("bulkhead_switch", CONFIGS / "bench_switch.dts"),
                         ("anchors_guest", CONFIGS / "anchors.dts"))},
            "hypervisor": str(hyp),
            "runs": args.runs,
            "runs_identical": identical,
            "incomplete": incomplete,
            "operations": ops,
            "anchors_guest": {"bulkhead": res["ops"].get("anchors_guest_bulkhead"),
                              "bare_qemu": res["ops"].get("anchors_guest_bare_qemu")},
            "anchors_source": "../shared/anchors/README.md (2026-11-22)" if have_anchors
            else None,
            "skipped": res["skipped"],
            "notes": res["notes"],
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        name = f"{now.strftime('%Y-%m-%d')}-{(commit or 'nogit')[:7]}.json"
        text = json.dumps(doc, indent=2) + "\n"
        (RESULTS / name).write_text(text)
        (RESULTS / "latest.json").write_text(text)
        log(f"\nwrote bench/results/{name} and bench/results/latest.json"
            + (" (tree has uncommitted changes: dirty)" if doc["dirty"] else ""))

    if incomplete or (identical is False):
        sys.exit(1)


if __name__ == "__main__":
    main()
