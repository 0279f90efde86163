"""Two vCPUs of one VM pinned to the same physical CPU both make progress."""

from helpers import assert_clean, assert_consecutive, started_pcpus

VM = "counter-vm"
PROGRESS = r"^cpu{} progress (\d+)$"


def test_two_vcpus_share_one_pcpu(system):
    con = system("shared_cpu")
    assert started_pcpus(con, 0, VM) == [1, 1]

    def progress(cpu):
        return con.last_number(VM, PROGRESS.format(cpu))

    con.wait_until(
        lambda: progress(0) > 20 and progress(1) > 20,
        f"cpu0 and cpu1 progress past 20 (now {progress(0)} and {progress(1)})",
    )
    for cpu in (0, 1):
        assert_consecutive(con.numbers(VM, PROGRESS.format(cpu)), f"cpu{cpu} progress")
    assert_clean(con)
