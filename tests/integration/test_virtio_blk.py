"""A Linux VM with two virtio-blk disks served by the hypervisor (configs/linux_blk.dts): a 16 MiB
empty one in slot 0 and one made from a 600-byte image in the package (slot 5). Debian's
virtio_mmio and virtio_blk drivers find them with the configured sizes, the serials the
hypervisor gives and their own interrupts; an ext2 file system made on the empty disk keeps a
1 MiB random file and a text file across umount and mount (md5sum); the image disk holds the
image, zero-padded. After a reboot of the VM (PSCI SYSTEM_RESET) both disks still hold what was
written (a disk survives a reboot; it is not reloaded from the package). Linux negotiates
indirect descriptors and EVENT_IDX on both. The kernel log stays clean.

Needs build/linux/ (`make linux`); skipped without it. The shell helper is in test_linux_qemu.py.
"""

import hashlib
import re
from pathlib import Path

from helpers import assert_clean, started_pcpus
from test_linux_qemu import BAD_KERNEL, LinuxShell, requires_linux

pytestmark = requires_linux

VM = "linux"
SECTORS = 16 * 1024 * 1024 // 512
IMAGE = Path(__file__).resolve().parent / "configs" / "disks" / "hello.img"
MODULES = "modprobe virtio_mmio && modprobe virtio_blk && modprobe crc32c_generic && modprobe ext4"
# Waits (up to 10 s of guest time) until both disks have appeared.
WAIT_DISKS = ("i=0; while { [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; } && [ $i -lt 50 ]; do "
              "sleep 0.2; i=$((i+1)); done")
# Each disk's name, size in sectors and serial (sysfs gives the serial without a newline).
DISKS = "for d in /sys/block/vd*; do echo ${d##*/} $(cat $d/size) $(cat $d/serial); done"
MD5 = "md5sum /mnt/random.bin /mnt/hello.txt"


def find_disks(sh):
    """Loads the drivers; returns {serial: (device, sectors)}."""
    out = sh.run(f"{MODULES} && {WAIT_DISKS}; {DISKS}")
    disks = {}
    for line in out:
        dev, sectors, serial = line.split()
        disks[serial] = (dev, int(sectors))
    return disks


def check_kernel_log(sh):
    log = sh.run("dmesg")
    bad = [t for t in log if BAD_KERNEL.search(t) or re.search(r"I/O error|EXT[24]-fs error", t)]
    assert not bad, "kernel log:\n" + "\n".join(bad)
    assert any(re.search(r"virtio_blk virtio\d: .*\[vd.\] 32768 512-byte logical blocks", t)
               for t in log), "no virtio_blk line in dmesg"


def test_linux_virtio_blk(system):
    con = system("linux_blk")
    con.wait_for(rf"^\[hyp\] vm '{VM}': virtio-blk@0 at 0xa000000 \(INTID 48\): 16384 KiB, empty$")
    con.wait_for(rf"^\[hyp\] vm '{VM}': virtio-blk@5 at 0xa000a00 \(INTID 53\): 1 KiB, "
                 r"from disks/hello\.img$")
    assert started_pcpus(con, 0, VM) == [1]
    sh = LinuxShell(con, VM)
    sh.wait_ready()

    # -- the drivers find both disks: sizes in sectors, serials, one interrupt each
    disks = find_disks(sh)
    assert disks == {f"bulkhead-{VM}-0": ("vda", SECTORS), f"bulkhead-{VM}-5": ("vdb", 2)}
    irqs = sh.run("grep virtio /proc/interrupts")
    assert any(re.search(r"\b48 Level\s+virtio0$", t) for t in irqs), irqs
    assert any(re.search(r"\b53 Level\s+virtio1$", t) for t in irqs), irqs
    # -- the ring features are negotiated: sysfs lists the driver's bits, one character each
    feats = sh.run("for f in /sys/bus/virtio/devices/virtio*/features; do cat $f; done")
    assert len(feats) == 2, feats
    for bits in feats:  # INDIRECT_DESC (28), EVENT_IDX (29), VERSION_1 (32)
        assert bits[28] == "1" and bits[29] == "1" and bits[32] == "1", bits

    # -- the image disk: the image, then zeros up to the sector boundary
    image = IMAGE.read_bytes()
    assert sh.run("head -c 600 /dev/vdb | md5sum") == [f"{hashlib.md5(image).hexdigest()}  -"]
    assert sh.run("tail -c 424 /dev/vdb | tr -d '\\000' | wc -c") == ["0"]

    # -- an ext2 file system: write, unmount, mount again, read back the same bytes
    out = sh.run("mke2fs -q /dev/vda >/dev/null; echo mke2fs $?", timeout=120)
    assert out == ["mke2fs 0"], out
    sh.run("mkdir -p /mnt && mount -t ext2 /dev/vda /mnt")
    sh.run(
        "dd if=/dev/urandom of=/mnt/random.bin bs=1024 count=1024 2>/dev/null; "
        "echo 'hello from bulkhead' > /mnt/hello.txt; sync",
        timeout=120,
    )
    before = sh.run(MD5)
    assert len(before) == 2 and all(re.match(r"^[0-9a-f]{32}  /mnt/", t) for t in before), before
    assert sh.run("umount /mnt; echo umount $?") == ["umount 0"]
    # a fresh mount reads everything from the disk again (the page cache is dropped too)
    sh.run("echo 3 > /proc/sys/vm/drop_caches; mount -t ext2 /dev/vda /mnt")
    assert sh.run(MD5) == before
    assert sh.run("cat /mnt/hello.txt") == ["hello from bulkhead"]
    assert sh.run("ls -l /mnt/random.bin | tr -s ' ' | cut -d' ' -f5") == ["1048576"]
    assert sh.run("umount /mnt; echo umount $?") == ["umount 0"]
    sh.run("printf CHANGED | dd of=/dev/vdb bs=7 count=1 2>/dev/null; sync")

    # -- requests complete by interrupt (virtio_blk does not poll): many of them by now
    irqs = sh.run("grep virtio0 /proc/interrupts")
    assert len(irqs) == 1 and int(irqs[0].split()[1]) >= 20, irqs
    check_kernel_log(sh)

    # -- a reboot: the devices are reset, the disks keep their contents
    sh.send_line("reboot -f")
    sh.wait_ready(2)
    con.wait_for(rf"^\[hyp\] vm '{VM}': reset \(PSCI SYSTEM_RESET\)")
    assert find_disks(sh) == disks
    sh.run("mkdir -p /mnt && mount -t ext2 /dev/vda /mnt")
    assert sh.run(MD5) == before
    assert sh.run("head -c 7 /dev/vdb; echo") == ["CHANGED"]
    assert sh.run("umount /mnt; echo umount $?") == ["umount 0"]
    check_kernel_log(sh)

    assert con.running
    assert not [t for t in con.lines("hyp") if "needs reset" in t or "stopped" in t]
    assert_clean(con)
