"""The virtual GICv3 seen from a guest (guests/vgic, 2 vCPUs): distributor and redistributor
discovery, SGIs between vCPUs, priority masking, more pending interrupts than list registers,
disabling an active interrupt, and the virtual timer (PPI 27) while running and in WFI. The guest
checks everything itself and prints "vgic: PASS <name> ..." / "vgic: FAIL <name> ..." per check
and then "vgic: pass" or "vgic: FAIL summary ..."."""

import re

from console import DEFAULT_TIMEOUT
from helpers import assert_clean, started_pcpus

VM = "vgic-vm"

CHECKS = (
    ["gicd", "gicr", "cpuif", "sgi_pingpong"]
    + [
        f"{name}_cpu{cpu}"
        for cpu in (0, 1)
        for name in ("pmr", "order", "disable_active", "vtimer_poll", "vtimer_wfi")
    ]
    + ["no_stray"]
)

# SGIs 3..14 with priorities ((n * 7) % 12) * 0x10, taken lowest value first
ORDER = "12,7,14,9,4,11,6,13,8,3,10,5"

END = rf"^\[{VM}\] (vgic: (pass|FAIL summary.*)|exception: unexpected.*)$"


def results(con):
    """{name: (PASS|FAIL, rest of line)} for every check line the guest printed."""
    out = {}
    for text in con.lines(VM):
        m = re.fullmatch(r"vgic: (PASS|FAIL) (\S+) ?(.*)", text)
        if m and m.group(2) != "summary":
            out.setdefault(m.group(2), (m.group(1), m.group(3)))
    return out


def test_vgic(system):
    con = system("vgic")
    assert started_pcpus(con, 0, VM) == [1, 2]

    # the run takes a few seconds under TCG; each lost timer interrupt costs 2 s (3 per check)
    con.wait_for(END, timeout=max(DEFAULT_TIMEOUT, 120))
    res = results(con)
    fails = [f"{name}: {rest}" for name, (verdict, rest) in res.items() if verdict == "FAIL"]
    missing = [name for name in CHECKS if name not in res]
    assert not fails, "guest checks failed:\n" + "\n".join(fails)
    assert not missing, f"no result line for {missing}; guest printed:\n" + "\n".join(
        con.lines(VM)
    )
    assert "vgic: pass" in con.lines(VM)

    # exact values behind some PASS lines
    assert re.match(r"frames 2 cpu0 frame 0 aff 0x0 .* cpu1 frame 1 aff 0x1 ", res["gicr"][1]), res[
        "gicr"
    ]
    assert "archrev 3" in res["gicd"][1], res["gicd"]
    assert re.match(r"rounds 1000 cpu1_got_sgi1 1000 cpu0_got_sgi2 1000 ", res["sgi_pingpong"][1])
    for cpu in (0, 1):
        assert res[f"order_cpu{cpu}"][1] == f"pending 0x7ff8 taken 12 order {ORDER}"
        for mode in ("poll", "wfi"):
            assert res[f"vtimer_{mode}_cpu{cpu}"][1].startswith("delivered 20/20 ")
    assert_clean(con)
