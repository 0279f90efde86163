"""The demo guest of the default system: greets, prints its uptime every 5 s and echoes typed
lines; console input goes to the first VM, then (Ctrl-A three times) to the second."""

from helpers import assert_clean, started_pcpus

SWITCH = b"\x01\x01\x01"
HELLO = r"^\[{}\] demo: hello from vCPU 0 \(MPIDR 0x80000000\), type a line and press Enter$"
UPTIME = r"^demo: uptime (\d+) s$"


def test_demo_greets_echoes_and_ticks(system):
    con = system("demo")
    assert started_pcpus(con, 0, "demo-a") == [1]
    assert started_pcpus(con, 1, "demo-b") == [2]
    con.wait_for(HELLO.format("demo-a"), timeout=10)
    con.wait_for(HELLO.format("demo-b"), timeout=10)
    con.wait_for(r"^\[hyp\] console input -> 'demo-a' \(press Ctrl-A three times to switch\)$")

    # input goes to the first VM; DEL erases the character before it
    con.send(b"hellp\x7fo demo\r")
    con.expect(r"^\[demo-a\] demo: you typed 'hello demo'$", timeout=10)

    # switch: what we type now goes to the second VM only
    con.send(SWITCH)
    con.expect(r"^\[hyp\] console input -> 'demo-b'$", timeout=10)
    con.send(b"for b\r")
    con.expect(r"^\[demo-b\] demo: you typed 'for b'$", timeout=10)

    # the heartbeat: "uptime 5 s" after 5 s of each VM's virtual counter, then every 5 s
    for vm in ("demo-a", "demo-b"):
        con.wait_until(
            lambda vm=vm: con.numbers(vm, UPTIME),
            f"[{vm}] demo: uptime 5 s (got {con.numbers(vm, UPTIME)})",
            timeout=15,
        )
        up = con.numbers(vm, UPTIME)
        assert up == [5 * (i + 1) for i in range(len(up))], f"{vm} uptimes {up}"

    typed = {vm: [t for t in con.lines(vm) if "you typed" in t] for vm in ("demo-a", "demo-b")}
    assert typed == {
        "demo-a": ["demo: you typed 'hello demo'"],
        "demo-b": ["demo: you typed 'for b'"],
    }, typed
    assert_clean(con)
