"""The hypervisor's side of the mediated-disk port (ctl_proto.h, "The mediated disk port") for
`bhctl blkd`'s host tests: sends BHC_BLK_REQ messages on a pty, whole, split or joined, and
checks every answer strictly (framing, type, sizes, a tag it is waiting for, data length)."""
import os
import select
import struct
import threading
import time
import tty

from fakehyp import EVENT, HDR, MAGIC, VERSION

BLK_REQ = EVENT | 0x10
BLK_DONE = EVENT | 0x11
READ, WRITE, FLUSH = 0, 1, 2
MAX_DATA = 32768
PATH_MAX = 128
REQ = struct.Struct("<IIQIIQQ128s")
DONE = struct.Struct("<QiI")
assert REQ.size == 168 and DONE.size == 16


def request(vm, slot, tag, op, length, offset, size, path, data=b"", raw_path=None):
    """A BHC_BLK_REQ message, header included (raw_path: the 128 path bytes as they are)."""
    p = raw_path if raw_path is not None else path.encode()
    payload = REQ.pack(vm, slot, tag, op, length, offset, size, p) + data
    return HDR.pack(MAGIC, VERSION, BLK_REQ, 0, len(payload)) + payload


class FakeBlk:
    """Serves one pty (blkd opens self.path). self.done: tag -> (status, data) answered;
    self.errors: every protocol violation blkd made (a test asserts it is empty)."""

    def __init__(self, fd=None):
        """Serves a new pty (blkd opens self.path), or fd: a connected socket (a QEMU
        virtio-console port's chardev)."""
        if fd is None:
            self.master, self.slave = os.openpty()
            tty.setraw(self.master)
            tty.setraw(self.slave)
            self.path = os.ttyname(self.slave)
        else:
            self.master, self.slave, self.path = fd, None, None
        self.pending = set()  # tags sent, not yet answered
        self.done, self.errors = {}, []
        self.buf = b""
        self.cond = threading.Condition()
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self):
        self.running = False
        self.thread.join(2)
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None

    def hang_up(self):
        """Closes our end of the pty: blkd's reads fail (the port is gone)."""
        self.running = False
        self.thread.join(2)
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None

    # ---- sending ----
    def write(self, data, split=0):
        """Writes bytes to blkd, in pieces of `split` bytes (0: at once)."""
        step = split or len(data)
        for i in range(0, len(data), step):
            piece = data[i:i + step]
            while piece:
                piece = piece[os.write(self.master, piece):]
            if split:
                time.sleep(0.002)

    def send(self, tag, op, length, offset, size, path, data=b"", vm=3, slot=1, split=0,
             expect_answer=True, **kw):
        msg = request(vm, slot, tag, op, length, offset, size, path, data, **kw)
        if expect_answer:
            with self.cond:
                self.pending.add(tag)
        self.write(msg, split)
        return msg

    def wait(self, tag, timeout=5):
        """The answer to tag: (status, data)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while tag not in self.done:
                left = deadline - time.monotonic()
                assert left > 0, f"no answer to tag {tag:#x} within {timeout} s"
                self.cond.wait(left)
            return self.done.pop(tag)

    def call(self, *args, **kw):
        tag = args[0]
        self.send(*args, **kw)
        return self.wait(tag)

    # ---- receiving ----
    def _serve(self):
        while self.running:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if not r:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.buf += chunk
            while len(self.buf) >= HDR.size:
                magic, ver, typ, seq, ln = HDR.unpack_from(self.buf)
                if magic != MAGIC or ver != VERSION or ln > DONE.size + MAX_DATA:
                    self.errors.append(f"bad header {magic:#x} v{ver} len {ln}")
                    self.buf = b""
                    break
                if len(self.buf) < HDR.size + ln:
                    break
                payload = self.buf[HDR.size:HDR.size + ln]
                self.buf = self.buf[HDR.size + ln:]
                self._answer(typ, seq, payload)

    def _answer(self, typ, seq, p):
        with self.cond:
            if typ != BLK_DONE or seq != 0 or len(p) < DONE.size:
                self.errors.append(f"not a BLK_DONE: type {typ:#x} seq {seq} {len(p)} bytes")
                return
            tag, status, ln = DONE.unpack_from(p)
            data = p[DONE.size:]
            if ln != len(data):
                self.errors.append(f"tag {tag:#x}: len {ln} but {len(data)} bytes follow")
            if status and ln:
                self.errors.append(f"tag {tag:#x}: status {status} with data")
            if tag not in self.pending:
                self.errors.append(f"an answer to tag {tag:#x}, which was not asked for")
            self.pending.discard(tag)
            self.done[tag] = (status, data)
            self.cond.notify_all()
