"""A pasted burst of input reaches a busy VM whole: the hypervisor buffers console input for
the VM with the focus while its vCPU waits for its physical CPU (shared with a spinning VM)."""

from helpers import assert_clean

LINES = [f"line{i:02d}-" + "abcdefghijklmnopqrstuvwxyz0123456789" * 2 for i in range(12)]


def test_uart_paste_is_not_lost(system):
    con = system("uart_paste")
    con.wait_for(r"^\[uart-vm\] uart: ready$")
    con.wait_for(r"^\[spin-vm\] spin: start$")
    payload = "".join(line + "\r" for line in LINES).encode()
    assert len(payload) > 900  # far more than a PL011's 32-byte FIFO
    con.send(payload)
    con.expect(rf"^\[uart-vm\] uart: got '{LINES[-1]}'$", timeout=60)
    got = [t for t in con.lines("uart-vm") if t.startswith("uart: got")]
    assert got == [f"uart: got '{line}'" for line in LINES], got
    assert not [t for t in con.lines("hyp") if "input dropped" in t]
    assert_clean(con)
