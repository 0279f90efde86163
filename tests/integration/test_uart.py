"""Console input goes to one VM at a time; Ctrl-A three times switches to the next VM."""

from helpers import assert_clean, started_pcpus

SWITCH = b"\x01\x01\x01"


def test_uart_input_routing(system):
    con = system("uart")
    started_pcpus(con, 0, "uart-vm")
    started_pcpus(con, 1, "ticker-vm")
    con.wait_for(r"^\[uart-vm\] uart: ready$")

    # input goes to VM 0 first
    con.send(b"hello\r")
    con.expect(r"^\[uart-vm\] uart: got 'hello'$")

    # switch to the second VM: what we type now must not reach uart-vm
    con.send(SWITCH)
    con.expect(r"^\[hyp\] console input -> 'ticker-vm'$")
    con.send(b"secret\r")

    # two VMs: Ctrl-A x3 again cycles back to uart-vm
    con.send(SWITCH)
    con.expect(r"^\[hyp\] console input -> 'uart-vm'$")
    con.send(b"again\r")
    con.expect(r"^\[uart-vm\] uart: got 'again'$")

    # input is delivered in order, so "secret\r" (sent before "again\r") would have been echoed
    # before 'again' had uart-vm received it
    got = [t for t in con.lines("uart-vm") if t.startswith("uart: got")]
    assert got == ["uart: got 'hello'", "uart: got 'again'"], got
    assert not any("secret" in t for t in con.lines("uart-vm"))
    assert_clean(con)
