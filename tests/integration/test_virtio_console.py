"""A Linux VM whose console is the hypervisor's virtio-console (configs/linux_vcon.dts: slot 4,
console=hvc0). The initramfs' init loads virtio_mmio and virtio_console and runs its shell on
/dev/hvc0; its lines reach the physical console under the VM's tag, as the PL011's do, and the
console's input reaches the shell through port 0 (the PL011 gets none once the guest has the
port open). A command's output comes back right, a 900-byte paste arrives whole (the
hypervisor buffers it until the guest posts receive buffers), the driver takes MULTIPORT, the
kernel log stays clean, and after a reboot (a device reset) the console works again.

Needs build/linux/ (`make linux`); skipped without it.
"""

import hashlib
import re

from helpers import assert_clean, started_pcpus
from test_linux_qemu import BAD_KERNEL, LinuxShell, requires_linux

pytestmark = requires_linux

VM = "linux"
PASTE = [f"paste{i:02d}-" + "abcdefghijklmnopqrstuvwxyz0123456789" * 2 for i in range(12)]


def test_linux_virtio_console(system):
    con = system("linux_vcon")
    con.wait_for(rf"^\[hyp\] vm '{VM}': virtio-console@4 at 0xa000800 \(INTID 52\): console on "
                 r"port 0, input there once the guest opens it$")
    assert started_pcpus(con, 0, VM) == [1]
    sh = LinuxShell(con, VM)
    sh.wait_ready()

    # -- the shell runs on hvc0, the kernel's console is hvc0, and commands come back right
    assert sh.run("tty") == ["/dev/hvc0"]
    assert sh.run("cat /sys/class/tty/console/active") == ["hvc0"]
    assert sh.run("echo $((6 * 7)) $(cat /proc/sys/kernel/hostname)") == ["42 bulkhead-guest"]
    irqs = sh.run("grep virtio /proc/interrupts")
    assert len(irqs) == 1 and re.search(r"\b52 Level\s+virtio0$", irqs[0]), irqs
    # MULTIPORT was taken: the driver made port 0 from the device's PORT_ADD (vport0p0), and
    # port 1 is the control port every VM with a virtio-console has, by its name
    assert sh.run("ls /sys/class/virtio-ports") == ["vport0p0  vport0p1"]
    assert sh.run("cat /sys/class/virtio-ports/vport0p1/name") == ["bulkhead.ctl"]
    assert sh.run("cat /sys/bus/virtio/devices/virtio0/features | cut -c1-2") == ["01"]

    # -- a 900-byte paste, sent at once while `head` waits for it, arrives whole
    payload = "".join(line + "\n" for line in PASTE)
    assert len(payload) >= 900
    n = sh.start(f"head -n {len(PASTE)} > /tmp/paste; echo pasted")
    sh.wait_output(n, 0)  # the begin marker: the shell has handed the terminal to head
    con.send(payload)
    out = sh.finish(n, what="the paste")
    assert out[-1] == "pasted", out
    digest = hashlib.md5(payload.encode()).hexdigest()
    assert sh.run("md5sum < /tmp/paste") == [f"{digest}  -"]
    assert sh.run("wc -c < /tmp/paste") == [str(len(payload))]

    # -- the kernel log: nothing went wrong
    log = sh.run("dmesg")
    bad = [t for t in log if BAD_KERNEL.search(t)]
    assert not bad, "kernel log:\n" + "\n".join(bad)

    # -- a reboot resets the device (port 0 closed, input back to the PL011); the new kernel's
    # driver opens it again and the shell answers on hvc0
    sh.send_line("reboot -f")
    sh.wait_ready(2)
    con.wait_for(rf"^\[hyp\] vm '{VM}': reset \(PSCI SYSTEM_RESET\)")
    assert sh.run("tty; echo $((1 + 2))") == ["/dev/hvc0", "3"]
    assert con.running
    hyp = con.lines("hyp")
    assert not [t for t in hyp if "needs reset" in t or "refused" in t or "dropped" in t], hyp
    assert_clean(con)
