"""Fixtures for the Bulkhead integration tests.

`system(name)` packs tests/integration/configs/<name>.dts with bhpack into build/pkg/<name>.pkg,
boots it with scripts/qemu.sh, waits for the hypervisor's banner and returns a Console; QEMU is
always killed at the end of the test. Each test's console log is kept in build/logs/<test>.log.
Run `make` first (it builds build/bulkhead.bin, build/tools/bhpack and build/guests/*.bin).
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from console import ROOT, Console  # noqa: E402

BUILD = ROOT / "build"
CONFIGS = Path(__file__).resolve().parent / "configs"
BHPACK = BUILD / "tools" / "bhpack"
HYPERVISOR = BUILD / "bulkhead.bin"
LOGS = BUILD / "logs"
PKGS = BUILD / "pkg"

BANNER = r"^\[hyp\] Bulkhead "


def build_package(name):
    """Packs configs/<name>.dts into build/pkg/<name>.pkg; returns the package's path."""
    config = CONFIGS / f"{name}.dts"
    if not config.exists():
        pytest.fail(f"no such test config: {config}")
    PKGS.mkdir(parents=True, exist_ok=True)
    rel_out = f"build/pkg/{name}.pkg"
    rel_cfg = config.relative_to(ROOT).as_posix()
    cmd = [str(BHPACK), "-I", "build", "-o", rel_out, rel_cfg]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        pytest.fail(
            f"bhpack failed ({res.returncode}): {' '.join(cmd)}\n{res.stdout}{res.stderr}"
        )
    return ROOT / rel_out


@pytest.fixture(scope="session")
def built():
    """Everything a boot needs exists (built by `make`)."""
    missing = [str(p.relative_to(ROOT)) for p in (HYPERVISOR, BHPACK) if not p.exists()]
    if not (BUILD / "guests").is_dir():
        missing.append("build/guests/")
    if missing:
        pytest.fail("missing " + ", ".join(missing) + ": run `make` first")


@pytest.fixture
def package(built):
    """package(name) -> Path of build/pkg/<name>.pkg, freshly packed."""
    return build_package


def _log_name(nodename):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodename)


@pytest.fixture
def system(request, built):
    """system(name, smp=None, mem=None, extra_args=()) boots configs/<name>.dts (extra_args:
    more QEMU arguments, e.g. devices) and returns its Console (after the hypervisor's banner).
    QEMU is killed when the test ends, whatever happens."""
    consoles = []

    def boot(name, smp=None, mem=None, banner_timeout=60, extra_args=()):
        pkg = build_package(name)
        log = _log_name(request.node.name) + (f".{len(consoles)}" if consoles else "")
        con = Console.qemu(pkg, log_path=LOGS / f"{log}.log", smp=smp, mem=mem,
                           extra_args=extra_args)
        consoles.append(con)
        con.expect(BANNER, timeout=banner_timeout)
        return con

    yield boot
    for con in consoles:
        con.close()
