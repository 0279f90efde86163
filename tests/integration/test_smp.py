"""A VM with two vCPUs: PSCI CPU_ON, AFFINITY_INFO and CPU_OFF seen from the guest."""

import re

from helpers import assert_clean, started_pcpus

VM = "smp-vm"


def value(con, pattern):
    """Group 1 of the first line of the smp VM that matches `pattern`."""
    for text in con.lines(VM):
        m = re.fullmatch(pattern, text)
        if m:
            return m.group(1)
    raise AssertionError(f"[{VM}] printed no line matching {pattern!r}: {con.lines(VM)}")


def test_smp_cpu_on(system):
    con = system("smp")
    assert started_pcpus(con, 0, VM) == [1, 2]

    con.wait_for(rf"^\[{VM}\] smp: (pass|FAIL.*)$")
    assert int(value(con, r"smp: cpu0 mpidr (0x[0-9a-f]+)"), 16) == 0x80000000
    version = int(value(con, r"smp: psci_version (0x[0-9a-f]+) \(.*\)"), 16)
    assert version >= 0x2, f"PSCI version {version >> 16}.{version & 0xffff} < 0.2"
    assert int(value(con, r"smp: cpu_on\(0x1\) = (-?\d+)")) == 0
    assert int(value(con, r"smp: cpu1 up mpidr (0x[0-9a-f]+) context 0x[0-9a-f]+"), 16) == 0x80000001
    assert int(value(con, r"smp: cpu1 up mpidr 0x[0-9a-f]+ context (0x[0-9a-f]+)"), 16) == 0x5EED0001
    assert int(value(con, r"smp: affinity_info\(0x1\) = (-?\d+)")) == 0  # ON
    assert int(value(con, r"smp: cpu_on\(0x1\) again = (-?\d+)")) == -4  # ALREADY_ON
    assert int(value(con, r"smp: cpu_on\(0x55\) = (-?\d+)")) == -2  # INVALID_PARAMETERS
    assert "smp: cpu1 pass" in con.lines(VM)
    assert "smp: cpu0 pass" in con.lines(VM)
    assert "smp: pass" in con.lines(VM)

    # vCPU1 then calls CPU_OFF: AFFINITY_INFO(1) must become OFF
    con.wait_for(rf"^\[{VM}\] smp: cpu_off (pass|FAIL.*)$")
    assert int(value(con, r"smp: affinity_info\(0x1\) after cpu_off = (-?\d+)")) == 1  # OFF
    assert_clean(con)
