"""bhctl on the host against a fake hypervisor (fakehyp.py) on a pty: usage and exit codes,
output formats with known values, create's byte stream and its clean-up, local configuration
errors (nothing sent), the hypervisor's messages, split and stale replies, console, top."""
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import fakehyp as fh  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BHCTL = os.path.join(ROOT, "build", "tools", "bhctl")


@pytest.fixture(scope="session", autouse=True)
def built():
    subprocess.run(["make", "-s", "-C", ROOT, "build/tools/bhctl"], check=True)


@pytest.fixture
def hyp():
    h = fh.FakeHyp()
    yield h
    h.close()
    assert h.errors == [], f"bhctl broke the protocol: {h.errors}"


def run(*args, hyp=None, stdin=b"", timeout=20, env=None):
    e = dict(os.environ, BHCTL_TIMEOUT="3")
    e.pop("BHCTL_DEVICE", None)
    e.update(env or {})
    dev = ["--device", hyp.path] if hyp else []
    p = subprocess.run([BHCTL, *dev, *args], input=stdin, capture_output=True,
                       timeout=timeout, env=e)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


# ---- usage ----

COMMANDS = ["list", "info", "create", "start", "stop", "reboot", "pause", "unpause", "blkd",
            "destroy", "console", "stats", "top", "raw"]


def test_main_help_lists_every_command():
    rc, out, _ = run("--help")
    assert rc == 0
    for c in COMMANDS:
        assert re.search(rf"^  {c} ", out, re.M), c
    assert "Exit status" in out


@pytest.mark.parametrize("cmd", COMMANDS)
def test_command_help(cmd):
    rc, out, err = run(cmd, "--help")
    assert rc == 0 and err == ""
    assert out.startswith(f"usage: bhctl {cmd}")


@pytest.mark.parametrize("args,msg", [
    ([], "no command"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["--bogus", "list"], "unknown option '--bogus'"),
    (["start"], "which VM?"),
    (["start", "a", "b"], "one VM at a time"),
    (["stop", "-t", "x", "vm"], "-t wants seconds"),
    (["stop", "-t"], "-t needs"),
    (["list", "extra"], "unexpected argument 'extra'"),
    (["create"], "no configuration file"),
    (["create", "-x", "f.dts"], "unknown option '-x'"),
    (["top", "-d", "0"], "-d wants a number"),
    (["top", "-n"], "-n needs"),
    (["console", "-q", "vm"], "unknown option '-q'"),
])
def test_usage_errors_exit_2(args, msg):
    rc, out, err = run(*args)
    assert rc == 2, (rc, err)
    assert msg in err
    assert "usage: bhctl" in err


def test_missing_device_exits_3():
    rc, _, err = run("--device", "/nonexistent/port", "list")
    assert rc == 3
    assert "cannot open the control channel /nonexistent/port" in err


def test_env_device(hyp):
    rc, out, _ = run("list", env={"BHCTL_DEVICE": hyp.path})
    assert rc == 0 and "mgmt" in out


# ---- formats ----

def two_vms(hyp):
    hyp.vms[0].uptime_ns = 3723 * 10**9
    hyp.vms[0].exits = [10, 20, 30, 40, 50, 6, 7, 0]
    hyp.vms[3] = fh.VM(3, "linux", state=fh.PAUSED, flags=2, pcpus=(1, 2),
                       ram=(0x80000000, 256 << 20), uptime_ns=93784 * 10**9, run_ns=5 * 10**9,
                       exits=[1, 2, 3, 4, 5, 6, 7, 0])
    hyp.vms[3].devs = [("pl011", 111), ("gicd", 222), ("virtio-blk@1", 333)]
    hyp.vms[3].irqs, hyp.vms[3].refused, hyp.vms[3].unowned = 4444, 5, 6
    hyp.vms[3].nics = [("virtio-net@2", "lan", bytes.fromhex("5254000000a1"), 10, 20, 3, 4, 5),
                       ("virtio-net@7", "storage", bytes.fromhex("0200000000ff"), 0, 1, 0, 0, 0)]


def test_list_format(hyp):
    two_vms(hyp)
    rc, out, err = run("list", hyp=hyp)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "STATE", "KIND", "VCPUS", "PCPUS", "MEMORY",
                                "UPTIME", "EXITS"]
    assert lines[1].split() == ["0", "mgmt", "running", "mgmt", "1", "0", "512M", "1:02:03",
                                "163"]
    assert lines[2].split() == ["3", "linux", "paused", "dyn", "2", "1,2", "256M",
                                "1d02:03:04", "28"]
    assert len(lines) == 3
    assert hyp.types() == [fh.LIST]


def test_stats_format(hyp):
    two_vms(hyp)
    rc, out, err = run("stats", "linux", hyp=hyp)
    assert rc == 0, err
    assert out.splitlines()[0] == "vm 3 'linux': paused, dyn"
    for want in [r"vcpus\s+2 on pcpus 1,2", r"memory\s+256M at 0x80000000",
                 r"run time\s+0:00:05 \(5000000000 ns\)", r"^exits\s+28$",
                 r"hypercall\s+1$", r"mmio\s+2$", r"sysreg\s+3$", r"wfx\s+4$", r"irq\s+5$",
                 r"fault\s+6$", r"other\s+7$", r"pl011\s+111$", r"gicd\s+222$",
                 r"virtio-blk@1\s+333$", r"\(unowned\)\s+6$", r"interrupts injected 4444$",
                 r"control refused\s+5$"]:
        assert re.search(want, out, re.M), (want, out)
    assert out.splitlines()[-5:] == [
        "network (frames)",
        "  virtio-net@2     switch 'lan', 52:54:00:00:00:a1",
        "    tx 10 rx 20 tx-bad 3 tx-limited 4 rx-dropped 5",
        "  virtio-net@7     switch 'storage', 02:00:00:00:00:ff",
        "    tx 0 rx 1 tx-bad 0 tx-limited 0 rx-dropped 0"], out
    assert hyp.types() == [fh.LIST, fh.STATS, fh.NET_STATS, fh.BLK_STATS]
    assert all(fh.REF.unpack(hyp.requests[i][2]) == (3, 0) for i in (1, 2, 3))


def test_stats_disks(hyp):
    two_vms(hyp)
    hyp.vms[3].disks = [("virtio-blk@1", 64 << 20, 0, 10, 20, 3, 40960, 81920, 2),
                        ("virtio-blk@5", 1 << 30, 1, 1, 0, 0, 512, 0, 0)]
    rc, out, err = run("stats", "linux", hyp=hyp)
    assert rc == 0, err
    assert out.splitlines()[-5:] == [
        "disks",
        "  virtio-blk@1     64M, RAM disk",
        "    reads 10 (40960 bytes) writes 20 (81920 bytes) flushes 3 errors 2",
        "  virtio-blk@5     1G, mediated (bhctl blkd)",
        "    reads 1 (512 bytes) writes 0 (0 bytes) flushes 0 errors 0"], out


def test_stats_without_nics_or_net_stats(hyp):
    """A VM without virtio-net shows no network section; a hypervisor that does not know
    NET_STATS (ETYPE) neither, and stats still succeeds."""
    two_vms(hyp)
    rc, out, err = run("stats", "mgmt", hyp=hyp)
    assert rc == 0 and "network" not in out and out.splitlines()[-1].startswith("control"), err
    hyp.fail[fh.NET_STATS] = (fh.ETYPE, "unknown message type 15")
    hyp.fail[fh.BLK_STATS] = (fh.ETYPE, "unknown message type 16")
    rc, out, err = run("stats", "linux", hyp=hyp)
    assert rc == 0 and "network" not in out and "disks" not in out and err == "", (out, err)
    del hyp.fail[fh.BLK_STATS]
    hyp.fail[fh.NET_STATS] = (fh.ENOENT, "no VM with id 3")
    rc, out, err = run("stats", "linux", hyp=hyp)
    assert rc == 1 and "no VM with id 3" in err, (out, err)


def test_net_stats_count_checked(hyp):
    two_vms(hyp)
    hyp.op_15 = lambda seq, p: hyp.reply(fh.NET_STATS, seq, fh.OK,
                                         b"\x09\0\0\0" + bytes(4 + 96 * 8))
    rc, _, err = run("stats", "linux", hyp=hyp)
    assert rc == 3 and "NET_STATS claims 9 devices" in err, err
    hyp.op_15 = lambda seq, p: hyp.reply(fh.NET_STATS, seq, fh.OK, bytes(8))
    rc, _, err = run("stats", "linux", hyp=hyp)
    assert rc == 3 and "NET_STATS reply holds 8 bytes, expected 776" in err, err


def test_stats_by_id(hyp):
    two_vms(hyp)
    rc, out, _ = run("stats", "3", hyp=hyp)
    assert rc == 0 and "vm 3 'linux'" in out


def test_info(hyp):
    hyp.pool_free = 768 << 20
    rc, out, _ = run("info", hyp=hyp)
    assert rc == 0
    assert re.search(r"protocol\s+1 \(bhctl 1\)", out)
    assert re.search(r"physical cpus\s+4$", out, re.M)
    assert re.search(r"pool\s+768M free of 1G", out)


def test_unknown_vm(hyp):
    rc, _, err = run("pause", "nosuch", hyp=hyp)
    assert rc == 1 and "no VM named 'nosuch'" in err
    assert hyp.types() == [fh.LIST]


# ---- operations and the hypervisor's messages ----

def test_pause_unpause_destroy(hyp):
    two_vms(hyp)
    rc, out, _ = run("unpause", "linux", hyp=hyp)
    assert rc == 0 and "vm 3 'linux' unpaused" in out
    assert hyp.vms[3].state == fh.RUNNING
    rc, out, _ = run("destroy", "3", hyp=hyp)
    assert rc == 0 and 3 not in hyp.vms
    assert fh.REF.unpack(hyp.requests[-1][2]) == (3, 0)


def test_hypervisor_refusal_text(hyp):
    two_vms(hyp)
    hyp.fail[fh.PAUSE] = (fh.ESTATE, "vm 'linux' is paused already")
    rc, _, err = run("pause", "linux", hyp=hyp)
    assert rc == 1
    assert "pause 'linux': refused by the hypervisor (ESTATE): vm 'linux' is paused already" \
        in err


def test_stop_waits_until_off(hyp):
    two_vms(hyp)
    hyp.vms[3].state = fh.RUNNING
    hyp.off_after_lists = 3  # the resolving LIST, then two polls
    rc, out, err = run("stop", "linux", hyp=hyp)
    assert rc == 0, err
    assert "vm 3 'linux' is off" in out
    assert hyp.types()[:2] == [fh.LIST, fh.STOP]
    assert hyp.types().count(fh.LIST) == 3


def test_stop_timeout_exit_4(hyp):
    two_vms(hyp)
    hyp.vms[3].state = fh.RUNNING
    rc, _, err = run("stop", "-t", "1", "linux", hyp=hyp)
    assert rc == 4
    assert "did not power off within 1 s" in err and "bhctl destroy linux" in err


def test_no_reply_exits_3(hyp):
    hyp.fail = {}
    hyp.op_2 = lambda seq, p: None  # LIST never answered
    rc, _, err = run("list", hyp=hyp, env={"BHCTL_TIMEOUT": "1"})
    assert rc == 3 and "no reply from the hypervisor to LIST within 1 s" in err


# ---- the stream parser and the checks of replies ----

def test_split_replies(hyp):
    two_vms(hyp)
    rc1, whole, _ = run("list", hyp=hyp)
    hyp.split = 7
    rc2, split, err = run("list", hyp=hyp)
    assert rc1 == rc2 == 0, err
    assert split == whole


def test_stale_replies_and_events_ignored(hyp):
    two_vms(hyp)
    rc1, whole, _ = run("stats", "linux", hyp=hyp)
    hyp.stale_before_reply = True
    hyp.split = 5
    rc2, out, err = run("stats", "linux", hyp=hyp)
    assert rc1 == rc2 == 0, err
    assert out == whole


def test_short_reply_is_a_protocol_error(hyp):
    hyp.hello_override = b"\1\0\0\0"
    rc, _, err = run("info", hyp=hyp)
    assert rc == 3 and "HELLO reply holds 4 bytes, expected 56" in err


def test_list_count_checked(hyp):
    hyp.op_2 = lambda seq, p: hyp.reply(fh.LIST, seq, fh.OK, b"\5\0\0\0" + b"\0" * 176)
    rc, _, err = run("list", hyp=hyp)
    assert rc == 3 and "claims 5 VMs" in err


def test_other_version_refused(hyp):
    hyp.version = 2
    rc, _, err = run("list", hyp=hyp)
    assert rc == 3 and "speaks control protocol version 2" in err


# ---- raw ----

def test_raw_sends_bytes_as_given_and_prints_replies(hyp):
    """Each argument is sent unchanged (a bad header too); the reply to the last header's seq
    is printed with its fields, status number and name, and message text."""
    bad = fh.HDR.pack(0xdeadbeef, 1, 2, 77, 0)
    rc, out, err = run("raw", bad.hex(), hyp=hyp, env={"BHCTL_TIMEOUT": "1"})
    assert rc == 3 and "no reply to seq 77 within" in err and out == ""
    assert hyp.errors == ["bad header 0xdeadbeef v1 len 0"]
    hyp.errors.clear()
    hyp.fail = {fh.STATS: (fh.ENOENT, "no VM with id 99")}
    msg = fh.HDR.pack(fh.MAGIC, 1, fh.STATS, 9, 8) + fh.REF.pack(99, 0)
    rc, out, err = run("raw", msg[:5].hex(), msg[5:].hex(), hyp=hyp)
    assert rc == 0, err
    assert out == ('reply seq=9 type=0x8003 (STATS) version=1 len=25 status=-4 (ENOENT) '
                   'msg="no VM with id 99"\n')
    assert hyp.requests[-1] == (fh.STATS, 9, fh.REF.pack(99, 0))


def test_raw_msg_builds_the_header(hyp, tmp_path):
    """--msg TYPE SEQ wraps the joined payload (hex and @FILE) in a well-formed header; an OK
    reply's data is printed in hex."""
    (tmp_path / "tail").write_bytes(b"\0\0\0\0")
    rc, out, err = run("raw", "--msg", "hello", "5", hyp=hyp)
    assert rc == 0, err
    assert re.fullmatch(r"reply seq=5 type=0x8001 \(HELLO\) version=1 len=64 status=0 "
                        r"\(OK\) data=01000000[0-9a-f]{104}\n", out), out
    rc, out, err = run("raw", "--msg", "3", "0x10", "00000000", f"@{tmp_path / 'tail'}",
                       hyp=hyp)
    assert rc == 0 and "reply seq=16 type=0x8003 (STATS)" in out, (out, err)
    assert hyp.requests[-1] == (fh.STATS, 16, fh.REF.pack(0, 0))


def test_raw_usage_errors():
    for args, msg in [((), "nothing to send"), (("zz",), "'z' is not a hex digit"),
                      (("abc",), "odd number of hex digits"),
                      (("--msg", "nosuch", "1"), "TYPE 'nosuch'")]:
        rc, _, err = run("raw", *args, hyp=None, env={"BHCTL_DEVICE": "/nonexistent"})
        assert rc == 2 and msg in err, (args, rc, err)


# ---- create ----

DTS = """/dts-v1/;
/ {{
    compatible = "bulkhead,system-v1";
    vms {{
        {name} {{
            vcpus = <{vcpus}>;
            pcpus = <{pcpus}>;
            memory = <0x0 {base} 0x0 0x4000000>;
            image = "{image}";
{extra}
        }};
    }};
{tail}
}};
"""


def write_config(tmp_path, name="tiny", vcpus=1, pcpus="1", base="0x40000000",
                 image="img/guest.bin", extra="", tail=""):
    (tmp_path / "img").mkdir(exist_ok=True)
    f = tmp_path / "vm.dts"
    f.write_text(DTS.format(name=name, vcpus=vcpus, pcpus=pcpus, base=base, image=image,
                            extra=extra, tail=tail))
    return f


def files(tmp_path):
    rnd = os.urandom
    (tmp_path / "img").mkdir(exist_ok=True)
    blobs = {"img/guest.bin": rnd(100000), "img/initrd.gz": rnd(40000), "disk.img": rnd(5000)}
    for p, b in blobs.items():
        (tmp_path / p).write_bytes(b)
    return blobs


EXTRA = """            initrd = "img/initrd.gz";
            bootargs = "console=ttyAMA0";
            virtio-blk@3 { size = <0x0 0x100000>; };
            virtio-blk@4 { image = "disk.img"; };"""


def test_create_streams_files_and_starts(hyp, tmp_path):
    blobs = files(tmp_path)
    cfg = write_config(tmp_path, extra=EXTRA)
    rc, out, err = run("create", str(cfg), hyp=hyp)
    assert rc == 0, err
    assert "vm 1 'tiny' created and started" in out
    types = hyp.types()
    assert types[:2] == [fh.HELLO, fh.CREATE] and types[-1] == fh.START
    assert set(types[2:-1]) == {fh.LOAD}
    f = fh.CREATE_REC.unpack_from(hyp.requests[1][2])
    assert f[0].rstrip(b"\0").decode() == str(cfg)[-63:] or f[0].rstrip(b"\0") == b"vm.dts"
    assert f[2] == 0  # flags
    assert f[3:6] == (100000, 40000, 0)
    assert f[6:] == (0, 5000, 0, 0, 0, 0, 0, 0)  # the second disk (slot 4) has the image
    dtb = subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", str(cfg)],
                         capture_output=True, check=True).stdout
    vm = hyp.vms[1]
    assert vm.config == dtb
    assert vm.loaded[fh.BLOB_IMAGE] == blobs["img/guest.bin"]
    assert vm.loaded[fh.BLOB_INITRD] == blobs["img/initrd.gz"]
    assert vm.loaded[fh.BLOB_DISK0 + 1] == blobs["disk.img"]
    assert vm.state == fh.RUNNING
    assert types.count(fh.LOAD) == 4 + 2 + 1  # 32 KiB chunks


def test_create_paused(hyp, tmp_path):
    files(tmp_path)
    cfg = write_config(tmp_path)
    rc, out, err = run("create", "-p", str(cfg), hyp=hyp)
    assert rc == 0, err
    assert fh.START in hyp.types()  # it is created, paused before its first instruction
    assert fh.CREATE_REC.unpack_from(hyp.requests[1][2])[2] == 1
    assert hyp.vms[1].state == fh.PAUSED
    assert "paused" in out


def test_create_from_dtb(hyp, tmp_path):
    blobs = files(tmp_path)
    cfg = write_config(tmp_path)
    dtb = tmp_path / "vm.dtb"
    subprocess.run(["dtc", "-q", "-o", str(dtb), str(cfg)], check=True)
    rc, _, err = run("create", str(dtb), hyp=hyp)
    assert rc == 0, err
    assert hyp.vms[1].loaded[fh.BLOB_IMAGE] == blobs["img/guest.bin"]


def test_create_destroys_when_start_fails(hyp, tmp_path):
    files(tmp_path)
    cfg = write_config(tmp_path)
    hyp.fail[fh.START] = (fh.ENOMEM, "the pool has 0x0 bytes free, vm 'tiny' needs 0x4000000")
    rc, _, err = run("create", str(cfg), hyp=hyp)
    assert rc == 1
    assert "refused by the hypervisor (ENOMEM): the pool has 0x0 bytes free" in err
    assert hyp.types()[-2:] == [fh.START, fh.DESTROY]
    assert fh.REF.unpack(hyp.requests[-1][2]) == (1, 0)
    assert 1 not in hyp.vms
    assert "vm 1 'tiny' destroyed" in err


def test_create_destroys_when_load_fails(hyp, tmp_path):
    files(tmp_path)
    cfg = write_config(tmp_path)
    hyp.fail[fh.LOAD] = (fh.ERANGE, "LOAD outside the image")
    rc, _, err = run("create", str(cfg), hyp=hyp)
    assert rc == 1 and "LOAD outside the image" in err
    assert hyp.types() == [fh.HELLO, fh.CREATE, fh.LOAD, fh.DESTROY]


def test_create_config_refused_by_hypervisor(hyp, tmp_path):
    files(tmp_path)
    cfg = write_config(tmp_path)
    hyp.fail[fh.CREATE] = (fh.ECONFIG, "vm.dts: vm 'tiny': field 'memory': overlaps vm 'mgmt'\n"
                           "vm.dts: vm 'tiny': field 'pcpus': no\n")
    rc, _, err = run("create", str(cfg), hyp=hyp)
    assert rc == 1
    assert err.splitlines()[:2] == ["vm.dts: vm 'tiny': field 'memory': overlaps vm 'mgmt'",
                                    "vm.dts: vm 'tiny': field 'pcpus': no"]
    assert hyp.types() == [fh.HELLO, fh.CREATE]  # nothing created: nothing to destroy


def test_create_pcpu_checked_against_hello(hyp, tmp_path):
    files(tmp_path)
    cfg = write_config(tmp_path, pcpus="7")
    rc, _, err = run("create", str(cfg), hyp=hyp)
    assert rc == 1
    assert f"{cfg}: vm 'tiny': field 'pcpus': physical CPU 7 does not exist (the machine " \
        "has 4)" in err
    assert hyp.types() == [fh.HELLO]


@pytest.mark.parametrize("kw,field,reason", [
    ({"extra": "            colour = <1>;"}, "colour", "unknown field"),
    ({"vcpus": 9, "pcpus": "0 0 0 0 0 0 0 0 0"}, "vcpus", ""),
    ({"image": "img/nope.bin"}, "image", "No such file or directory"),
    ({"base": "0x8000000"}, "memory", "device window"),
    ({"extra": "            initrd = \"img/none.gz\";"}, "initrd", "No such file or directory"),
    ({"extra": "            virtio-blk@2 { size = <0x0 0x1001>; };"}, "virtio-blk@2/size",
     "multiple of 512"),
])
def test_config_errors_local_nothing_sent(hyp, tmp_path, kw, field, reason):
    files(tmp_path)
    cfg = write_config(tmp_path, **kw)
    rc, out, err = run("create", str(cfg), hyp=hyp)
    assert rc == 1, err
    line = next((ln for ln in err.splitlines() if f"field '{field}'" in ln), None)
    assert line, err
    assert line.startswith(f"{cfg}: vm 'tiny': field '{field}': ")
    assert reason in line
    assert hyp.requests == []


def test_missing_image_message(hyp, tmp_path):
    cfg = write_config(tmp_path, image="img/nope.bin")
    rc, _, err = run("create", str(cfg), hyp=hyp)
    assert rc == 1
    assert err.strip() == (f"{cfg}: vm 'tiny': field 'image': '{tmp_path}/img/nope.bin': "
                           "No such file or directory")


def test_two_vms_and_channels_refused_locally(hyp, tmp_path):
    files(tmp_path)
    two = write_config(tmp_path, extra="        };\n        other {\n"
                       "            vcpus = <1>; pcpus = <1>;\n"
                       "            memory = <0x0 0x40000000 0x0 0x4000000>;\n"
                       "            image = \"img/guest.bin\";")
    rc, _, err = run("create", str(two), hyp=hyp)
    assert rc == 1 and "2 VMs defined (bhctl create takes exactly one)" in err
    chan = write_config(tmp_path, tail="    channels { };")
    rc, _, err = run("create", str(chan), hyp=hyp)
    assert rc == 1 and "field '/channels'" in err
    assert hyp.requests == []


def test_image_too_big_for_memory(hyp, tmp_path):
    files(tmp_path)
    (tmp_path / "img" / "guest.bin").write_bytes(b"\0" * (65 << 20))
    cfg = write_config(tmp_path)
    rc, _, err = run("create", str(cfg), hyp=hyp)
    assert rc == 1 and "field 'image'" in err and "does not fit" in err
    assert hyp.requests == []


def test_dtc_error(hyp, tmp_path):
    f = tmp_path / "bad.dts"
    f.write_text("/dts-v1/; / { vms { ")
    rc, _, err = run("create", str(f), hyp=hyp)
    assert rc == 1 and "dtc failed to compile the configuration" in err
    assert hyp.requests == []


# ---- console and top ----

def test_console_roundtrip(hyp):
    two_vms(hyp)
    rc, out, err = run("console", "linux", hyp=hyp, stdin=b"ls\n\x1cnot sent")
    assert rc == 0, err
    assert "bhctl: attached to 'linux'; Ctrl-\\ detaches" in err
    assert "detached from 'linux'" in err
    assert "login banner" in out
    inputs = [p for t, _, p in hyp.requests if t == fh.CONSOLE_INPUT]
    assert b"".join(p[8:] for p in inputs) == b"ls\n"
    assert all(fh.REF.unpack_from(p) == (3, 0) for p in inputs)
    assert hyp.types()[-1] == fh.CONSOLE_DETACH
    assert "not sent" not in out and b"not sent" not in b"".join(inputs)


def test_console_ignores_other_vms_output(hyp):
    two_vms(hyp)
    hyp.stale_before_reply = True  # adds an event for VM 99
    rc, out, err = run("console", "linux", hyp=hyp, stdin=b"\x1c")
    assert rc == 0, err
    assert "not for you" not in out and "login banner" in out


def test_top_rates(hyp):
    two_vms(hyp)
    hyp.vms[3].state = fh.RUNNING

    def tick(h):  # per sample: +1000 hypercalls, +0.5 s of run time, +300 interrupts
        v = h.vms[3]
        v.exits[0] += 1000
        v.run_ns += 500 * 10**6
        v.irqs += 300
    hyp.on_list = tick
    rc, out, err = run("top", "-d", "1", "-n", "2", hyp=hyp)
    assert rc == 0, err
    frames = [ln for ln in out.splitlines() if ln.startswith("3 ")]
    assert len(frames) == 2
    cols = frames[-1].split()
    assert cols[:3] == ["3", "linux", "running"]
    cpu, exits, hvc, inj = float(cols[3]), int(cols[4]), int(cols[5]), int(cols[10])
    assert 35 <= cpu <= 51      # 0.5 s per ~1 s interval
    assert 700 <= exits <= 1010 and exits == hvc
    assert 200 <= inj <= 305
    assert out.count("bhctl top: 2 VMs") == 2
