"""Context-switch integrity: three vCPUs (two of ctx-a, one of ctx-b) share physical CPU 1 and
each keeps checking that its callee-saved registers, FP/SIMD registers and FPCR hold its own
values while the hypervisor switches between them every time slice."""

import re

from helpers import assert_clean, started_pcpus

VCPUS = [("ctx-a", 0), ("ctx-a", 1), ("ctx-b", 0)]
ROUNDS = 20
OK = r"^ctx: cpu{} ok (\d+) switches \d+$"
SWITCHES = r"^ctx: cpu{} ok {} switches (\d+)$"
SEED = re.compile(r"^ctx: cpu(\d) seed (0x[0-9a-f]{16}) fpcr (0x[0-9a-f]+)$")


def test_context_switch_keeps_registers(system):
    con = system("ctxcheck")
    assert started_pcpus(con, 0, "ctx-a") == [1, 1]
    assert started_pcpus(con, 1, "ctx-b") == [1]

    def rounds(vm, cpu):
        return con.last_number(vm, OK.format(cpu))

    def corrupt():
        return [(tag, t) for tag, t in con.lines() if " CORRUPT " in t]

    con.wait_until(
        lambda: corrupt() or all(rounds(vm, cpu) >= ROUNDS for vm, cpu in VCPUS),
        f"every vCPU passes {ROUNDS} rounds, or a CORRUPT line",
        timeout=30,
    )
    assert not corrupt(), "registers changed under a vCPU:\n" + "\n".join(
        f"[{tag}] {t}" for tag, t in corrupt()
    )

    seeds = set()
    for vm, cpu in VCPUS:
        oks = con.numbers(vm, OK.format(cpu))
        assert oks == list(range(1, len(oks) + 1)), f"{vm} cpu{cpu}: rounds {oks}"
        # the vCPU was switched out in the middle of its checks (a > 5 ms gap) several times
        switches = con.last_number(vm, SWITCHES.format(cpu, ROUNDS), default=-1)
        assert switches >= 5, f"{vm} cpu{cpu}: only {switches} switches in {ROUNDS} rounds"
        seed = [m.group(2) for m in map(SEED.match, con.lines(vm)) if m and m.group(1) == str(cpu)]
        assert len(seed) == 1, f"{vm} cpu{cpu}: seed lines {seed}"
        seeds.add(seed[0])
    assert len(seeds) == 3, f"the vCPUs' values are not distinct: seeds {seeds}"

    assert "ctx: cpu_on(0x1) = 0" in con.lines("ctx-a")
    assert "ctx: cpu_on(0x1) = -2" in con.lines("ctx-b")  # ctx-b has one vCPU
    assert_clean(con)
