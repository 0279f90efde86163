"""Two ticker VMs on different physical CPUs print concurrently."""

from helpers import assert_clean, assert_consecutive, started_pcpus, ticks, wait_tick


def test_two_vms_print_concurrently(system):
    con = system("two_vms")
    assert started_pcpus(con, 0, "alpha") == [1]
    assert started_pcpus(con, 1, "beta") == [2]

    wait_tick(con, "alpha", 20)
    wait_tick(con, "beta", 20)

    # the tick lines of both VMs, in console order, up to the point where both reached 20
    seq = []
    reached = {"alpha": False, "beta": False}
    for tag, text in con.lines():
        if tag not in reached or not text.startswith("tick "):
            continue
        seq.append(tag)
        if text.startswith("tick 20 "):
            reached[tag] = True
            if all(reached.values()):
                break
    # from the first line of the VM that started printing later, lines must alternate often
    later = "beta" if seq.index("beta") > seq.index("alpha") else "alpha"
    window = seq[seq.index(later):]
    switches = sum(1 for a, b in zip(window, window[1:]) if a != b)
    assert switches >= 8, f"lines of alpha and beta do not interleave: {window}"

    for vm in ("alpha", "beta"):
        assert_consecutive(ticks(con, vm), vm)
        assert all(t.endswith("mpidr 0x80000000") for t in con.lines(vm) if t.startswith("tick"))
    assert_clean(con)
