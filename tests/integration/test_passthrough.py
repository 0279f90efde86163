"""Device passthrough (configs/passthrough.dts): QEMU's own virtio-blk disk, attached to a raw
image file on the host, is handed to a Linux VM whose RAM is identity-mapped (the device does
DMA to guest-physical addresses, and there is no IOMMU). The hypervisor maps the device's page
at its own address and forwards its SPI (INTID 79) through a hardware-linked list register; it
never touches the device. The transport is modern (virtio-mmio version 2:
`-global virtio-mmio.force-legacy=false`).

The VM makes an ext2 file system, writes a text file and a 1 MiB random file, reboots (PSCI
SYSTEM_RESET, so the physical interrupt is reset while the device is in use), reads both back,
and powers off; then QEMU is stopped and the host finds the same bytes in the image file with
debugfs. A ticker VM beside it keeps running throughout. Also: a DMA device without
identity-mapped RAM is refused by bhpack, with the reason.

Needs build/linux/ (`make linux`) and debugfs (e2fsprogs); the boot test is skipped without
the kernel.
"""

import hashlib
import re
import shutil
import subprocess

from conftest import BHPACK, ROOT
from helpers import assert_clean, last_tick, wait_tick
from test_linux_qemu import BAD_KERNEL, BOOT_TIMEOUT, LinuxShell, requires_linux

VM = "linux"
DISK_MIB = 64
TEXT = "written through a passed-through virtio-blk 4f1c"
MODULES = "modprobe virtio_mmio && modprobe virtio_blk && modprobe crc32c_generic && modprobe ext4"
WAIT_DISK = "i=0; while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done"


def qemu_disk_args(image):
    """QEMU's virtio-blk on the virtio-mmio bus: the first device goes to the transport with the
    highest address (0x0a003e00, SPI 47); modern transport (version 2)."""
    return ["-global", "virtio-mmio.force-legacy=false",
            "-drive", f"file={image},if=none,format=raw,id=ptdisk",
            "-device", "virtio-blk-device,drive=ptdisk"]


def load_disk(sh):
    """Loads the drivers; returns (device name, sectors) of the one virtio disk."""
    out = sh.run(f"{MODULES} && {WAIT_DISK}; for d in /sys/block/vd*; do "
                 "echo ${d##*/} $(cat $d/size); done")
    assert len(out) == 1, out
    name, sectors = out[0].split()
    return name, int(sectors)


def check_kernel_log(sh):
    log = sh.run("dmesg")
    bad = [t for t in log if BAD_KERNEL.search(t) or re.search(r"I/O error|EXT[24]-fs error", t)]
    assert not bad, "kernel log:\n" + "\n".join(bad)


# e2fsprogs (scripts/setup.sh installs it); /sbin is not on every user's PATH.
DEBUGFS = shutil.which("debugfs") or shutil.which("debugfs", path="/usr/sbin:/sbin") or "debugfs"


def debugfs_cat(image, path):
    """The bytes of file `path` in the ext2 file system of `image`, read on the host."""
    res = subprocess.run([DEBUGFS, "-R", f"cat {path}", str(image)], capture_output=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    return res.stdout


@requires_linux
def test_passthrough_virtio_blk(system, tmp_path):
    image = tmp_path / "disk.img"
    with open(image, "wb") as f:
        f.truncate(DISK_MIB << 20)
    con = system("passthrough", extra_args=qemu_disk_args(image))
    con.wait_for(rf"^\[hyp\] vm '{VM}': RAM identity-mapped at physical "
                 r"0x80000000\.\.0x90000000$")
    con.wait_for(rf"^\[hyp\] vm '{VM}': passthrough@a003e00 \(virtio,mmio\): "
                 r"0xa003000\.\.0xa004000, INTID 79 mapped 1:1, does DMA$")
    sh = LinuxShell(con, VM)
    sh.wait_ready()
    wait_tick(con, "ticker", 2)

    # -- the VM sees QEMU's disk: its size, its interrupt (level, as the generated tree says)
    assert load_disk(sh) == ("vda", DISK_MIB << 11)
    node = "/proc/device-tree/passthrough@a003e00"
    assert sh.run(f"ls -1 {node}") == ["compatible", "dma-coherent", "interrupts", "name", "reg"]
    assert sh.run(f"tr -d '\\000' < {node}/compatible; echo") == ["virtio,mmio"]
    # reg <0 0x0a003e00 0 0x200>, interrupts <GIC_SPI 47 IRQ_TYPE_LEVEL_HIGH>
    assert sh.run(f"od -An -tx1 {node}/reg {node}/interrupts | tr -d ' \\n'; echo") == [
        "000000000a003e000000000000000200" "000000000000002f00000004"]

    # -- ext2 on it: a text file and 1 MiB of random bytes
    out = sh.run("mke2fs -q /dev/vda >/dev/null; echo mke2fs $?", timeout=180)
    assert out == ["mke2fs 0"], out
    sh.run("mkdir -p /mnt && mount -t ext2 /dev/vda /mnt")
    sh.run(f"echo '{TEXT}' > /mnt/hello.txt; "
           "dd if=/dev/urandom of=/mnt/random.bin bs=1024 count=1024 2>/dev/null; sync",
           timeout=120)
    md5 = sh.run("md5sum /mnt/random.bin")
    assert len(md5) == 1 and re.match(r"^[0-9a-f]{32}  /mnt/random\.bin$", md5[0]), md5
    random_md5 = md5[0].split()[0]
    assert sh.run("umount /mnt; echo umount $?") == ["umount 0"]

    # -- completions came by interrupt, on INTID 79
    irqs = sh.run("grep virtio0 /proc/interrupts")
    assert len(irqs) == 1 and re.search(r"\b79 Level\s+virtio0$", irqs[0]), irqs
    assert int(irqs[0].split()[1]) >= 20, irqs
    check_kernel_log(sh)

    # -- a reboot: Bulkhead resets the VM (and the physical interrupt); the disk keeps its data
    sh.send_line("reboot -f")
    con.wait_for(rf"^\[hyp\] vm '{VM}': reset \(PSCI SYSTEM_RESET\)", BOOT_TIMEOUT)
    sh.wait_ready(2)
    assert load_disk(sh) == ("vda", DISK_MIB << 11)
    sh.run("mkdir -p /mnt && mount -t ext2 /dev/vda /mnt")
    assert sh.run("cat /mnt/hello.txt") == [TEXT]
    assert sh.run("md5sum /mnt/random.bin") == [f"{random_md5}  /mnt/random.bin"]
    assert sh.run("umount /mnt; echo umount $?") == ["umount 0"]
    check_kernel_log(sh)

    # -- power off: that VM stops, the ticker carries on
    sh.send_line("poweroff -f")
    con.wait_for(rf"^\[hyp\] vm '{VM}': powered off \(PSCI SYSTEM_OFF\)", BOOT_TIMEOUT)
    tick = last_tick(con, "ticker")
    wait_tick(con, "ticker", tick + 2)
    assert con.running
    assert not [t for t in con.lines("hyp") if "unexpected interrupt" in t or "stopped" in t]
    assert_clean(con)
    con.close()

    # -- on the host, the image file holds what the VM wrote
    assert debugfs_cat(image, "/hello.txt").decode() == TEXT + "\n"
    assert hashlib.md5(debugfs_cat(image, "/random.bin")).hexdigest() == random_md5


def test_dma_needs_identity_mapped_ram(built):
    """bhpack refuses a DMA device in a VM whose RAM is not identity-mapped, and says why."""
    cfg = "tests/integration/configs/refuse_dma.dts"
    res = subprocess.run([str(BHPACK), "--check", "-I", "build", cfg], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1, res.stdout + res.stderr
    lines = [t for t in (res.stdout + res.stderr).splitlines() if t.startswith(cfg)]
    assert lines == [
        f"{cfg}: vm 'nodma': field 'passthrough@a003e00/dma': the device does DMA and there is "
        "no IOMMU: the VM's RAM must be identity-mapped (guest-physical == physical): add "
        "'identity-map;'",
    ], res.stdout + res.stderr


def test_refused_at_boot(system):
    """What bhpack cannot know, the hypervisor checks against its device tree at boot: each
    such VM is refused with file, VM and field; the other VM runs."""
    con = system("refuse_passthrough")
    cfg = "tests/integration/configs/refuse_passthrough.dts"
    for vm, field, reason in (
        ("notram", "memory", r"identity-mapped RAM 0x100000000\.\.0x101000000 is not RAM of "
         r"this machine \(RAM starts at 0x40000000, 2048 MiB\)"),
        ("overhyp", "memory", r"identity-mapped RAM 0x40000000\.\.0x41000000 overlaps the "
         r"hypervisor's image \(0x40200000\.\.0x[0-9a-f]+\)"),
        ("ramdev", "passthrough@70000000/reg", r"pages 0x70000000\.\.0x70001000 are RAM of this "
         r"machine, not a device"),
    ):
        err = con.wait_for(rf"^\[hyp\] {re.escape(cfg)}: vm '{vm}': field '{field}': {reason}$")
        refused = con.wait_for(rf"^\[hyp\] vm '{vm}': refused, not started \(see the errors "
                               r"above\)$")
        assert err.start() < refused.start()
    con.wait_for(r"^\[hyp\] vm 0 'ticker': started\b")
    wait_tick(con, "ticker", 3)
    for vm in ("notram", "overhyp", "ramdev"):
        assert con.lines(vm) == [], f"refused VM {vm} printed something"
    assert_clean(con)
