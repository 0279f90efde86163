"""The example systems in configs/ stay valid: bhpack checks each one (what `make run` and
`scripts/run.sh configs/X.dts` would boot)."""

import subprocess

import pytest

from conftest import BHPACK, ROOT

CONFIGS = sorted((ROOT / "configs").glob("*.dts"))


@pytest.mark.parametrize("config", CONFIGS, ids=[c.name for c in CONFIGS])
def test_example_config_is_valid(built, config):
    res = subprocess.run(
        [str(BHPACK), "--check", "-I", "build", str(config.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith(f"configs/{config.name}: ok ("), res.stdout
