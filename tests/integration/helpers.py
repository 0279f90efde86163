"""Assertions shared by the integration tests (console contract of the hypervisor)."""

import re

TICK = r"^tick (\d+) mpidr 0x[0-9a-f]+$"


def started_pcpus(con, vm_id, name, timeout=60):
    """Waits for "[hyp] vm <id> '<name>': started..." and returns the pCPU numbers it names, in
    order (one per vCPU)."""
    m = con.wait_for(rf"^\[hyp\] vm {vm_id} '{re.escape(name)}': started\b.*$", timeout)
    return [int(n) for n in re.findall(r"\bpCPU (\d+)", m.group(0))]


def ticks(con, vm):
    """The tick numbers `vm` printed so far, in order."""
    return con.numbers(vm, TICK)


def last_tick(con, vm):
    return con.last_number(vm, TICK)


def wait_tick(con, vm, n, timeout=60):
    """Waits until `vm` has printed "tick n" (or later); returns its last tick."""
    return con.wait_until(
        lambda: last_tick(con, vm) >= n and last_tick(con, vm),
        f"[{vm}] tick {n} (last tick {last_tick(con, vm)})",
        timeout,
    )


def assert_consecutive(nums, what):
    """nums counts 1, 2, 3, ... without gaps or repeats (no line lost, doubled or garbled)."""
    assert nums, f"{what}: no lines"
    assert nums == list(range(1, len(nums) + 1)), f"{what}: not 1, 2, 3, ...: {nums}"


def assert_clean(con):
    """No unhandled trap, no guest self-check failure, no unexpected guest exception."""
    bad = [
        line
        for line in con.all_lines()
        if re.search(r"^\[hyp\] .*\bunhandled\b", line)
        or re.search(r"^\[[^\]]+\] .*\bFAIL\b", line)
        or re.search(r"^\[[^\]]+\] exception: unexpected", line)
    ]
    assert not bad, "failures on the console:\n" + "\n".join(bad)


def check_results(con, vm, line_re):
    """A self-checking guest's results (guests/lib check_result lines matched by line_re, groups
    tag, what, ok|FAIL) as {tag: (what, verdict)}; fails on a tag reported twice or any FAIL."""
    results = {}
    for text in con.lines(vm):
        m = line_re.match(text)
        if m:
            assert m.group(1) not in results, f"{m.group(1)} reported twice"
            results[m.group(1)] = (m.group(2), m.group(3))
    failed = [f"{tag}: {what}" for tag, (what, res) in results.items() if res != "ok"]
    assert not failed, "the guest's own checks failed:\n" + "\n".join(failed)
    return results
