"""A VM the hypervisor cannot run is refused at boot, with a line saying why, and the other VMs
of the system start and run as usual."""

import re
from pathlib import Path

from console import ROOT
from helpers import assert_clean, wait_tick

SWITCH = b"\x01\x01\x01"
CONFIGS = Path(__file__).resolve().parent / "configs"


def started(con, name, timeout=60):
    """Waits for "[hyp] vm <id> '<name>': started..." and returns the pCPU numbers it names. (VM
    ids count the VMs created, so a VM after a refused one gets the refused one's id.)"""
    m = con.wait_for(rf"^\[hyp\] vm \d+ '{re.escape(name)}': started\b.*$", timeout)
    return [int(n) for n in re.findall(r"\bpCPU (\d+)", m.group(0))]


def config_path(name):
    """The configuration's path as bhpack was given it, which the hypervisor's messages name."""
    return (CONFIGS / f"{name}.dts").relative_to(ROOT).as_posix()


def test_refuse_missing_pcpu(system):
    con = system("refuse_pcpu", smp=4)
    error = con.wait_for(
        "^"
        + re.escape(
            f"[hyp] {config_path('refuse_pcpu')}: vm 'no-such-cpu': field 'pcpus': "
            "physical CPU 7 does not exist (the machine has 4)"
        )
        + "$"
    )
    refused = con.wait_for(
        r"^\[hyp\] vm 'no-such-cpu': refused, not started \(see the errors above\)$"
    )
    assert error.start() < refused.start(), "the refusal comes before the reason for it"
    assert started(con, "first") == [1]
    assert started(con, "last") == [2]

    wait_tick(con, "first", 10)
    wait_tick(con, "last", 10)
    # the refused VM is not in the console's input rotation: first -> last -> first
    con.wait_for(r"^\[hyp\] console input -> 'first' \(press Ctrl-A three times to switch\)$")
    con.send(SWITCH)
    con.expect(r"^\[hyp\] console input -> 'last'$", timeout=10)
    con.send(SWITCH)
    con.expect(r"^\[hyp\] console input -> 'first'$", timeout=10)

    hyp = con.lines("hyp")
    assert [t for t in hyp if "no-such-cpu" in t] == [error.group(0)[6:], refused.group(0)[6:]]
    assert con.lines("no-such-cpu") == [], "the refused VM printed something"
    assert not [t for t in hyp if "console input -> 'no-such-cpu'" in t]
    assert_clean(con)


def test_refuse_too_much_memory(system):
    con = system("refuse_memory", mem="2G")  # a 3 GiB VM cannot fit in 2 GiB
    m = con.wait_for(r"^\[hyp\] Bulkhead .*, (\d+) MiB RAM$")
    assert int(m.group(1)) == 2048
    con.wait_for(r"^\[hyp\] vm 'too-big': not created: out of memory$")
    assert started(con, "small") == [2]
    wait_tick(con, "small", 10)

    assert [t for t in con.lines("hyp") if "too-big" in t] == [
        "vm 'too-big': not created: out of memory"
    ]
    assert con.lines("too-big") == [], "the VM that was not created printed something"
    assert_clean(con)


def test_refuse_disk_without_memory(system):
    con = system("refuse_disk", mem="2G")  # 1 GiB of RAM fits, 1 GiB more for the disk does not
    con.wait_for(r"^\[hyp\] vm 'big-disk': not created: out of memory$")
    con.wait_for(r"^\[hyp\] vm 'after': virtio-blk@0 at 0xa000000 \(INTID 48\): 16384 KiB, "
                 r"empty$")
    assert started(con, "after") == [2]  # the refused VM's RAM was given back
    wait_tick(con, "after", 10)

    assert [t for t in con.lines("hyp") if "big-disk" in t] == [
        "vm 'big-disk': not created: out of memory"
    ]
    assert con.lines("big-disk") == [], "the VM that was not created printed something"
    assert_clean(con)
