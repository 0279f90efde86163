"""`bhctl blkd`, the mediated-disk daemon, on the host against the hypervisor's side of the
port faked on a pty (fakeblk.py): writes land in the backing file and read back, flush, the
file created or extended to the disk's size, every malformed request answered -EINVAL (or
dropped when it has no tag) while the daemon keeps serving, split and joined messages,
SIGTERM, a closed port, -d, usage."""
import errno
import hashlib
import os
import re
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import fakeblk as fb  # noqa: E402
from fakehyp import HDR, MAGIC  # noqa: E402
from test_bhctl import BHCTL, built  # noqa: E402,F401  (the build fixture)

MiB = 1 << 20


class Daemon:
    """bhctl blkd on a FakeBlk's pty; its stdout and stderr go to files."""

    def __init__(self, port, tmp_path, *args):
        self.out_path, self.err_path = tmp_path / "blkd.out", tmp_path / "blkd.err"
        self.out_f, self.err_f = open(self.out_path, "wb"), open(self.err_path, "wb")
        env = dict(os.environ, BHCTL_DEVICE="/nonexistent/ctl")  # not blkd's port
        self.p = subprocess.Popen([BHCTL, "--device", port.path, "blkd", *args],
                                  stdout=self.out_f, stderr=self.err_f, env=env)
        self.wait_line(r"^bhctl blkd: serving mediated disks on " + re.escape(port.path))

    def out(self):
        return self.out_path.read_text().splitlines()

    def err(self):
        return self.err_path.read_text().splitlines()

    def wait_line(self, pattern, err=False, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.err() if err else self.out()
            if any(re.search(pattern, t) for t in lines):
                return
            assert self.p.poll() is None, f"blkd exited {self.p.returncode}: {self.err()}"
            time.sleep(0.01)
        raise AssertionError(f"no line {pattern!r}: out {self.out()} err {self.err()}")

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            rc = self.p.wait(10)
        finally:
            if self.p.poll() is None:
                self.p.kill()
                self.p.wait()
            self.out_f.close()
            self.err_f.close()
        return rc


@pytest.fixture
def port():
    h = fb.FakeBlk()
    yield h
    if h.master is not None:
        h.close()
    assert h.errors == [], f"blkd broke the protocol: {h.errors}"


@pytest.fixture
def blkd(port, tmp_path):
    daemons = []

    def start(*args):
        d = Daemon(port, tmp_path, *args)
        daemons.append(d)
        return d

    yield start
    for d in daemons:
        d.stop()


def test_write_read_flush_round_trip(port, blkd, tmp_path):
    d = blkd()
    img = tmp_path / "g.img"
    data = os.urandom(32768)
    # a write creates the file with the disk's size; the data is in the file
    assert port.call(1, fb.WRITE, len(data), 8192, MiB, str(img), data) == (0, b"")
    assert img.stat().st_size == MiB
    assert img.read_bytes()[8192:8192 + len(data)] == data
    assert img.stat().st_mode & 0o777 == 0o600
    d.wait_line(rf"^bhctl blkd: vm 3 slot 1: {re.escape(str(img))} \(1 MiB\), created$")
    # read it back, and the zeros around it
    assert port.call(2, fb.READ, len(data), 8192, MiB, str(img)) == (0, data)
    assert port.call(3, fb.READ, 4096, 4096, MiB, str(img)) == (0, bytes(4096))
    # the last 32 KiB of the disk are in range; flush
    tail = os.urandom(32768)
    assert port.call(4, fb.WRITE, len(tail), MiB - 32768, MiB, str(img), tail) == (0, b"")
    assert port.call(5, fb.READ, 32768, MiB - 32768, MiB, str(img)) == (0, tail)
    assert port.call(6, fb.FLUSH, 0, 0, MiB, str(img)) == (0, b"")
    # large tags come back unchanged
    assert port.call(0xFEDCBA9876543210, fb.READ, 512, 0, MiB, str(img)) == (0, bytes(512))
    assert d.stop() == 0
    out = d.out()
    assert out[-2] == "bhctl blkd: stopping (SIGTERM): 7 requests served, 0 refused or failed"
    assert out[-1] == "bhctl blkd: 1 file synced and closed"
    assert d.err() == []
    # one line per file opened, none per request
    assert sum(str(img) in t for t in out) == 1


def test_existing_file_kept_shorter_file_extended(port, blkd, tmp_path):
    d = blkd()
    big, short = tmp_path / "big.img", tmp_path / "short.img"
    content = os.urandom(2 * MiB)
    big.write_bytes(content)
    short.write_bytes(b"x" * 1000)
    # a file larger than the disk is used as it is (the disk is its first `size` bytes)
    assert port.call(1, fb.READ, 4096, 0, MiB, str(big)) == (0, content[:4096])
    assert big.read_bytes() == content
    d.wait_line(rf"^bhctl blkd: vm 3 slot 1: {re.escape(str(big))} \(1 MiB\)$")
    # a shorter one is extended with zeros, its bytes kept
    assert port.call(2, fb.READ, 1024, 0, 65536, str(short), vm=4, slot=0) == \
        (0, b"x" * 1000 + bytes(24))
    assert short.stat().st_size == 65536
    d.wait_line(rf"^bhctl blkd: vm 4 slot 0: {re.escape(str(short))} extended from 1000 "
                r"bytes to 64 KiB$")
    # the same file, larger disk (its configuration changed): extended again
    assert port.call(3, fb.READ, 512, 65536, 2 * 65536, str(short), vm=4, slot=0) == \
        (0, bytes(512))
    assert short.stat().st_size == 2 * 65536
    # another disk on an open file says so
    assert port.call(4, fb.READ, 512, 0, MiB, str(big), vm=5, slot=2) == (0, content[:512])
    d.wait_line(rf"^bhctl blkd: vm 5 slot 2: {re.escape(str(big))} \(1 MiB\), open already$")
    assert d.err() == []


BAD = [
    # (what, request kwargs, expected error line)
    ("beyond the end", dict(op=fb.READ, length=4096, offset=MiB - 2048),
     r"read of 4096 bytes at 0xff800, beyond the disk's 0x100000 bytes"),
    ("offset past the end", dict(op=fb.WRITE, length=512, offset=MiB, data=bytes(512)),
     r"write of 512 bytes at 0x100000, beyond"),
    ("offset+len wraps", dict(op=fb.READ, length=1024, offset=(1 << 64) - 512),
     r"beyond the disk"),
    ("unaligned offset", dict(op=fb.READ, length=512, offset=100), r"not a multiple of 512"),
    ("unknown op", dict(op=7, length=0, offset=0), r"unknown operation 7"),
    ("too much data", dict(op=fb.READ, length=32769, offset=0), r"32769 bytes of data"),
    ("write without its data", dict(op=fb.WRITE, length=4096, offset=0, data=bytes(100)),
     r"a write of 4096 bytes in a message of 268 bytes"),
    ("read with data", dict(op=fb.READ, length=512, offset=0, data=bytes(512)),
     r"a read of 512 bytes in a message of 680 bytes"),
    ("flush with data", dict(op=fb.FLUSH, length=512, offset=0, data=bytes(512)),
     r"a flush with data"),
    ("disk of size 0", dict(op=fb.READ, length=512, offset=0, size=0), r"a disk of 0x0 bytes"),
    ("huge disk", dict(op=fb.READ, length=512, offset=0, size=1 << 63),
     r"a disk of 0x8000000000000000 bytes"),
    ("relative path", dict(op=fb.READ, length=512, offset=0, path="g.img"),
     r"the path is not absolute"),
    ("empty path", dict(op=fb.READ, length=512, offset=0, path=""), r"no path"),
    ("unterminated path", dict(op=fb.READ, length=512, offset=0, raw_path=b"/" * 128),
     r"the path is not NUL-terminated"),
]


def test_bad_requests_refused_and_serving_goes_on(port, blkd, tmp_path):
    d = blkd()
    img = tmp_path / "g.img"
    good = os.urandom(4096)
    assert port.call(1, fb.WRITE, 4096, 0, MiB, str(img), good) == (0, b"")
    for i, (what, kw, line) in enumerate(BAD):
        kw = dict(kw)
        tag = 0x100 + i
        n = len(d.err())
        status, data = port.call(tag, kw.pop("op"), kw.pop("length"), kw.pop("offset"),
                                 kw.pop("size", MiB), kw.pop("path", str(img)), **kw)
        assert (status, data) == (-errno.EINVAL, b""), what
        # its line was written before the answer
        err = d.err()
        assert len(err) == n + 1, (what, err[n:])
        assert re.match(r"bhctl blkd: vm 3 slot 1: request refused: .*" + line, err[n]), \
            (what, err[n])
        # still serving, the file unchanged
        assert port.call(2, fb.READ, 4096, 0, MiB, str(img)) == (0, good), what
    assert img.read_bytes()[:4096] == good and img.stat().st_size == MiB
    assert len(d.err()) == len(BAD)  # one line each, nothing per good request
    assert d.stop() == 0
    assert d.out()[-2].endswith(f": {len(BAD) + 1} requests served, {len(BAD)} refused or "
                                "failed")


def test_files_that_cannot_serve(port, blkd, tmp_path):
    """A directory, a missing folder: the open's errno, one line, repeats counted."""
    d = blkd()
    (tmp_path / "dir.img").mkdir()
    assert port.call(1, fb.READ, 512, 0, MiB, str(tmp_path / "dir.img")) == \
        (-errno.EISDIR, b"")
    missing = str(tmp_path / "nope" / "g.img")
    for tag in range(2, 6):
        assert port.call(tag, fb.READ, 512, 0, MiB, missing) == (-errno.ENOENT, b"")
    img = tmp_path / "g.img"
    assert port.call(9, fb.READ, 512, 0, MiB, str(img)) == (0, bytes(512))
    assert d.err() == [
        f"bhctl blkd: vm 3 slot 1: cannot open {tmp_path}/dir.img: Is a directory",
        f"bhctl blkd: vm 3 slot 1: cannot open {missing}: No such file or directory",
        "bhctl blkd: (the last error repeated 3 more times)",
    ]


def test_short_and_foreign_messages(port, blkd, tmp_path):
    d = blkd()
    img = str(tmp_path / "g.img")
    # a request cut short after its tag: -EINVAL to that tag
    short = fb.REQ.pack(3, 1, 0x77, fb.READ, 512, 0, MiB, img.encode())[:24]
    port.pending.add(0x77)
    port.write(HDR.pack(MAGIC, 1, fb.BLK_REQ, 0, len(short)) + short)
    assert port.wait(0x77) == (-errno.EINVAL, b"")
    # one without a tag: no answer possible, one line
    port.write(HDR.pack(MAGIC, 1, fb.BLK_REQ, 0, 8) + bytes(8))
    d.wait_line(r"a request of 8 bytes, shorter than its 168-byte record", err=True)
    # a message of another type, and a header of another version: skipped
    port.write(HDR.pack(MAGIC, 1, 0x4001, 0, 4) + b"abcd")
    d.wait_line(r"ignored a message of type 0x4001 \(4 bytes\)", err=True)
    port.write(HDR.pack(MAGIC, 2, fb.BLK_REQ, 0, 168) + b"junk")
    d.wait_line(r"a header with version 2 and length 168 .*: skipped", err=True)
    # garbage between messages is skipped too; the next request is served
    port.write(b"\x00garbage\xff")
    assert port.call(1, fb.READ, 512, 0, MiB, img) == (0, bytes(512))
    assert port.call(2, fb.READ, 512, 0, MiB, img) == (0, bytes(512))


def test_split_and_joined_messages(port, blkd, tmp_path):
    d = blkd()
    img = str(tmp_path / "g.img")
    a, b = os.urandom(32768), os.urandom(1536)
    # three requests in one write
    msgs = [fb.request(3, 1, 10, fb.WRITE, len(a), 0, MiB, img, a),
            fb.request(3, 1, 11, fb.WRITE, len(b), 65536, MiB, img, b),
            fb.request(3, 1, 12, fb.FLUSH, 0, 0, MiB, img)]
    port.pending.update({10, 11, 12})
    port.write(b"".join(msgs))
    assert [port.wait(t) for t in (10, 11, 12)] == [(0, b"")] * 3
    # a request in 1-byte pieces, then one in 7-byte pieces
    port.send(13, fb.READ, 1536, 65536, MiB, img, split=1)
    assert port.wait(13) == (0, b)
    port.send(14, fb.WRITE, 1024, 4096, MiB, img, b[:1024], split=7)
    assert port.wait(14) == (0, b"")
    # a write cut in the middle of its data, joined with the start of the next request
    m1 = fb.request(3, 1, 15, fb.WRITE, 512, 8192, MiB, img, b"\x5a" * 512)
    m2 = fb.request(3, 1, 16, fb.READ, 32768, 0, MiB, img)
    port.pending.update({15, 16})
    port.write(m1[:300])
    time.sleep(0.05)
    port.write(m1[300:] + m2[:20])
    time.sleep(0.05)
    port.write(m2[20:])
    assert port.wait(15) == (0, b"")
    expect = bytearray(a)
    expect[4096:5120] = b[:1024]
    expect[8192:8704] = b"\x5a" * 512
    assert port.wait(16) == (0, bytes(expect))
    assert hashlib.md5(open(img, "rb").read()[:32768]).digest() == hashlib.md5(expect).digest()
    assert d.err() == []


def test_sigint_and_closed_port(port, blkd, tmp_path):
    d = blkd("-v")
    img = str(tmp_path / "g.img")
    assert port.call(1, fb.WRITE, 512, 512, MiB, img, b"\x11" * 512) == (0, b"")
    d.wait_line(r"^bhctl blkd: vm 3 slot 1: write 512 bytes at 0x200: 0$")  # -v
    assert d.stop(signal.SIGINT) == 0
    assert "stopping (SIGINT)" in d.out()[-2]

    # the port's other end goes away: exit 3 with a message, the file synced
    d2 = blkd()
    assert port.call(2, fb.READ, 512, 512, MiB, img) == (0, b"\x11" * 512)
    port.hang_up()
    assert d2.p.wait(10) == 3
    assert any("the mediated-disk port was closed" in t for t in d2.err()), d2.err()
    assert d2.out()[-1] == "bhctl blkd: 1 file synced and closed"


def test_daemon_mode_and_log(port, tmp_path):
    log = tmp_path / "blkd.log"
    p = subprocess.run([BHCTL, "--device", port.path, "blkd", "-d", "-l", str(log)],
                       capture_output=True, timeout=10)
    assert p.returncode == 0, p.stderr
    m = re.fullmatch(rb"bhctl blkd: running in the background, pid (\d+)\n", p.stdout)
    assert m, p.stdout
    pid = int(m.group(1))
    try:
        img = str(tmp_path / "g.img")
        assert port.call(1, fb.READ, 512, 0, MiB, img) == (0, bytes(512))
    finally:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while "synced and closed" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.02)
    text = log.read_text()
    assert "serving mediated disks on " + port.path in text
    assert f"vm 3 slot 1: {img} (1 MiB), created" in text


@pytest.mark.parametrize("args,msg", [
    (["-x"], "unknown option '-x'"),
    (["extra"], "unexpected argument 'extra'"),
    (["-l"], "-l needs a file"),
    (["--device"], "--device needs a path"),
])
def test_usage(args, msg):
    p = subprocess.run([BHCTL, "blkd", *args], capture_output=True, timeout=10)
    assert p.returncode == 2
    assert msg in p.stderr.decode() and "usage: bhctl blkd" in p.stderr.decode()


def test_no_port_exits_3(tmp_path):
    p = subprocess.run([BHCTL, "blkd", "--device", str(tmp_path / "none")],
                       capture_output=True, timeout=10)
    assert p.returncode == 3
    assert b"cannot open the mediated-disk port" in p.stderr
    p = subprocess.run([BHCTL, "blkd", "-l", str(tmp_path / "no" / "log")],
                       capture_output=True, timeout=10)
    assert p.returncode == 1 and b"cannot open the log" in p.stderr
