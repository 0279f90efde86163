"""A mediated disk (docs/control.md, "The mediated disk"): a guest's virtio-blk served by
`bhctl blkd` in the management VM from a file there.

Under Bulkhead (configs/mgmt.dts), in the management VM: `bhctl blkd -d` serves the port
"bulkhead.blk"; `bhctl create /guests/linux-disk.dts` makes the guest 'store', whose 64 MiB
virtio-blk@1 is mediated by /tmp/store.img. The guest (keyboard switched to it) makes an ext2 file
system on it, writes a text file with a marker unique to this run and 1 MiB of random bytes,
unmounts and powers off. Back in the management VM: `bhctl list` shows it off, the backing file
is 64 MiB and holds the marker. `bhctl start store` boots it again and it reads the same bytes
back (md5sum). blkd printed one line for the file and no error, and syncs and ends on SIGTERM.
Then, with no daemon, 'store' is created again: its disk requests wait and the hypervisor says
why, once; `bhctl blkd` started late gets them (the hypervisor says how many), the guest reads
the same bytes, and the management VM's virtio_console driver saw nothing wrong.

Without the hypervisor: the management initramfs directly on QEMU, with a QEMU virtio-console
port "bulkhead.blk" whose other end is the fake of tests/tools/fakeblk.py. blkd finds the port
through sysfs and serves 32 KiB writes and reads (its 32 KiB + 32-byte answers cross Linux's
32 KiB write limit) and refuses a bad request, through Debian's own virtio_console.
"""

import hashlib
import os
import re
import secrets
import sys

import pytest

from console import ROOT
from test_linux_qemu import CMD_TIMEOUT, LinuxShell
from test_mgmt import MgmtShell, fake_on_port, requires_mgmt

sys.path.insert(0, str(ROOT / "tests" / "tools"))
import fakeblk as fb  # noqa: E402

BACKING = "/tmp/store.img"
DISK_BYTES = 64 << 20
MODULES = "modprobe virtio_mmio && modprobe virtio_blk && modprobe crc32c_generic && modprobe ext4"
WAIT_DISK = ("i=0; while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done; "
             "cat /sys/block/vda/size")
MD5 = "md5sum /mnt/random.bin /mnt/marker.txt"
IO_TIMEOUT = 300  # mke2fs and 1 MiB through the management VM, under TCG


def switch_to(con, name):
    """Ctrl-A three times: the keyboard goes to the next VM, which must be `name`."""
    line = f"console input -> '{name}'"
    before = sum(t == line for t in con.lines("hyp"))
    con.send(b"\x01\x01\x01")
    con.wait_until(lambda: sum(t == line for t in con.lines("hyp")) > before,
                   f"[hyp] {line}", CMD_TIMEOUT)


def blkd_log(sh):
    return sh.run("cat /tmp/blkd.log")


@requires_mgmt
def test_mediated_disk_lives_in_the_management_vm(system):
    con = system("mgmt")
    sh = MgmtShell(con, "mgmt")
    sh.wait_ready()
    sh.setup()
    # named asynchronously by the driver, like the control port: wait (10 s at most)
    ports = sh.run("for i in $(seq 50); do grep -l '^bulkhead.blk$' "
                   "/sys/class/virtio-ports/*/name 2>/dev/null && break; sleep 0.2; done")
    assert len(ports) == 1, f"no port named bulkhead.blk: {ports}"
    port = "/dev/" + ports[0].split("/")[-2]

    # -- the daemon, in the background, its output in a log
    sh.run(f"rm -f {BACKING} /tmp/blkd.log")
    out = sh.bhctl("blkd -d -l /tmp/blkd.log")
    m = re.fullmatch(r"bhctl blkd: running in the background, pid (\d+)", out[-1])
    assert m, out
    pid = int(m.group(1))
    sh.con.wait_until(lambda: any(t.startswith(f"bhctl blkd: serving mediated disks on {port}")
                                  for t in blkd_log(sh)), "blkd's ready line", CMD_TIMEOUT)

    # -- the guest with the mediated disk
    out = sh.bhctl("create /guests/linux-disk.dts", timeout=300)
    m = re.fullmatch(r"bhctl: vm (\d+) 'store' created and started", out[-1])
    assert m, out
    vm_id = int(m.group(1))
    guest = LinuxShell(con, "store")
    guest.wait_ready()
    switch_to(con, "store")
    # kernel messages only in dmesg, not among the command output lines
    assert guest.run(f"dmesg -n 1; {MODULES} && {WAIT_DISK}") == [str(DISK_BYTES // 512)]
    out = guest.run("mke2fs -q /dev/vda >/dev/null; echo mke2fs $?", timeout=IO_TIMEOUT)
    assert out == ["mke2fs 0"], out
    marker = "bh-mediated-" + secrets.token_hex(8)
    guest.run("mkdir -p /mnt && mount -t ext2 /dev/vda /mnt")
    guest.run(f"echo {marker} > /mnt/marker.txt; "
              "dd if=/dev/urandom of=/mnt/random.bin bs=1024 count=1024 2>/dev/null; sync",
              timeout=IO_TIMEOUT)
    before = guest.run(MD5)
    assert len(before) == 2 and all(re.match(r"^[0-9a-f]{32}  /mnt/", t) for t in before), before
    assert guest.run("umount /mnt; echo umount $?", timeout=IO_TIMEOUT) == ["umount 0"]
    guest.send_line("poweroff -f")
    con.wait_for(r"^\[hyp\] vm 'store': powered off")

    # -- back in the management VM: the guest is off, its data is in the backing file
    switch_to(con, "mgmt")
    assert sh.vms()["store"]["state"] == "off"
    # its disk's counters: what mke2fs, the files and the syncs did, all through the daemon
    stats = sh.bhctl("stats store")
    i = stats.index("disks")
    assert stats[i + 1].split() == ["virtio-blk@1", "64M,", "mediated", "(bhctl", "blkd)"]
    disk = {k: int(v) for k, v in re.findall(r"([a-z]+) (\d+)", stats[i + 2])}
    assert disk["writes"] > 0 and disk["reads"] > 0 and disk["errors"] == 0, stats[i:]
    bytes_written = int(re.search(r"writes \d+ \((\d+) bytes\)", stats[i + 2])[1])
    assert bytes_written >= 1 << 20, stats[i:]  # the 1 MiB file at least
    assert sh.run(f"ls -ln {BACKING} | tr -s ' ' | cut -d' ' -f5") == [str(DISK_BYTES)]
    out = sh.run(f"echo matches=$(grep -c {marker} {BACKING})", timeout=IO_TIMEOUT)
    count = [int(t[8:]) for t in out if re.fullmatch(r"matches=\d+", t)]  # kernel lines too
    assert count and count[0] >= 1, out

    # -- booted again, the guest reads the same bytes from the file
    sh.bhctl("start store")
    guest.wait_ready(2)
    switch_to(con, "store")
    assert guest.run(f"dmesg -n 1; {MODULES} && {WAIT_DISK}") == [str(DISK_BYTES // 512)]
    guest.run("mkdir -p /mnt && mount -t ext2 /dev/vda /mnt")
    assert guest.run(MD5, timeout=IO_TIMEOUT) == before
    assert guest.run("cat /mnt/marker.txt") == [marker]
    assert guest.run("umount /mnt; echo umount $?", timeout=IO_TIMEOUT) == ["umount 0"]
    bad = [t for t in guest.run("dmesg") if re.search(r"I/O error|EXT[24]-fs error|blk_update", t)]
    assert not bad, bad
    switch_to(con, "mgmt")

    # -- blkd: one line for the file, no error; SIGTERM syncs and ends it
    sh.bhctl("destroy store")
    sh.run(f"kill {pid}; i=0; while kill -0 {pid} 2>/dev/null && [ $i -lt 50 ]; do "
           "sleep 0.2; i=$((i+1)); done")
    log = blkd_log(sh)
    assert log[1:] == [
        f"bhctl blkd: vm {vm_id} slot 1: {BACKING} (64 MiB), created",
        log[2],
        "bhctl blkd: 1 file synced and closed",
    ], log
    assert re.fullmatch(r"bhctl blkd: stopping \(SIGTERM\): \d+ requests served, "
                        r"0 refused or failed", log[2]), log
    hyp = con.lines("hyp")
    assert hyp.count("mediated disks: the daemon closed port 'bulkhead.blk'") == 1, hyp

    # -- no daemon: the guest's disk requests wait and the hypervisor says why, once; a daemon
    # started later gets them, and the guest reads its file
    sh.bhctl("create /guests/linux-disk.dts", timeout=300)
    guest.wait_ready(3)
    switch_to(con, "store")
    n = guest.start(f"dmesg -n 1; {MODULES} && {WAIT_DISK} && mkdir -p /mnt && "
                    f"mount -t ext2 /dev/vda /mnt && {MD5}")
    waiting = (f"vm 'store': virtio-blk@1: its requests wait: no daemon has the management VM's "
               f"port 'bulkhead.blk' open (`bhctl blkd` there serves '{BACKING}')")
    con.wait_until(lambda: waiting in con.lines("hyp"), "the hypervisor's waiting line",
                   CMD_TIMEOUT)
    switch_to(con, "mgmt")
    sh.bhctl("blkd -d -l /tmp/blkd2.log")
    opened = re.compile(r"mediated disks: a daemon opened port 'bulkhead.blk': "
                        r"[1-9]\d* waiting requests? sent to it")
    con.wait_until(lambda: any(opened.fullmatch(t) for t in con.lines("hyp")),
                   "the daemon's requests", CMD_TIMEOUT)
    out = guest.finish(n, timeout=IO_TIMEOUT)
    assert out[-2:] == before, out
    assert con.lines("hyp").count(waiting) == 1
    # the port opened with requests queued for it: the management VM's virtio_console driver
    # saw nothing wrong (it once got a wrong control buffer back, and the channel died)
    assert sh.run("dmesg | grep -ciE 'not a head|virtio.*(error|broken)'") == ["0"]
    sh.bhctl("destroy store")
    assert not [t for t in con.lines("hyp") if "unhandled" in t or "vm stopped" in t]


# ---- directly on QEMU, the hypervisor's side faked ----

@pytest.fixture
def direct_blk(request, tmp_path):
    """(MgmtShell, FakeBlk): the management initramfs on QEMU, a port named bulkhead.blk
    served by the fake."""
    yield from fake_on_port(request, tmp_path, "bulkhead.blk", fb.FakeBlk)


@requires_mgmt
def test_blkd_over_a_real_virtio_console_port(direct_blk):
    sh, port = direct_blk
    sh.run("modprobe virtio_mmio; modprobe virtio_console")
    out = sh.bhctl("blkd -d -l /tmp/blkd.log")
    pid = int(re.fullmatch(r"bhctl blkd: running in the background, pid (\d+)", out[-1])[1])
    img, size = "/tmp/g.img", 4 << 20
    a, b = os.urandom(32768), os.urandom(32768)
    assert port.call(1, fb.WRITE, len(a), 32768, size, img, a) == (0, b"")
    assert port.call(2, fb.WRITE, len(b), size - 32768, size, img, b, split=4000) == (0, b"")
    assert port.call(3, fb.FLUSH, 0, 0, size, img) == (0, b"")
    assert port.call(4, fb.READ, 32768, 32768, size, img) == (0, a)
    assert port.call(5, fb.READ, 32768, size - 32768, size, img) == (0, b)
    assert port.call(6, fb.READ, 4096, size - 2048, size, img) == (-22, b"")  # -EINVAL
    assert port.call(7, fb.READ, 512, 0, size, img) == (0, bytes(512))
    # the bytes are in the file in the VM
    assert sh.run(f"dd if={img} bs=32768 skip=1 count=1 2>/dev/null | md5sum") == \
        [f"{hashlib.md5(a).hexdigest()}  -"]
    assert sh.run(f"ls -ln {img} | tr -s ' ' | cut -d' ' -f5") == [str(size)]
    sh.run(f"kill {pid}; i=0; while kill -0 {pid} 2>/dev/null && [ $i -lt 50 ]; do "
           "sleep 0.2; i=$((i+1)); done")
    log = sh.run("cat /tmp/blkd.log")
    assert re.fullmatch(r"bhctl blkd: serving mediated disks on /dev/vport\d+p\d+ \(pid \d+\)",
                        log[0]), log
    assert log[1:] == [
        "bhctl blkd: vm 3 slot 1: /tmp/g.img (4 MiB), created",
        "bhctl blkd: vm 3 slot 1: request refused: read of 4096 bytes at 0x3ff800, beyond the "
        "disk's 0x400000 bytes",
        "bhctl blkd: stopping (SIGTERM): 6 requests served, 1 refused or failed",
        "bhctl blkd: 1 file synced and closed",
    ], log
