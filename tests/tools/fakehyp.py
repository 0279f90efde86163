"""A fake hypervisor for bhctl's host tests: speaks the control protocol
(hyp/include/bulkhead/ctl_proto.h) on a pty, checks every request strictly (framing, sizes,
the CREATE -> LOAD -> START order, LOAD offsets) and answers with canned records."""
import os
import select
import struct
import threading
import time
import tty

MAGIC = 0x31434842
VERSION = 1
MAX_PAYLOAD = 65536
REPLY = 0x8000
EVENT = 0x4000

HELLO, LIST, STATS, CREATE, LOAD, START, STOP, REBOOT, PAUSE, UNPAUSE, DESTROY = range(1, 12)
CONSOLE_ATTACH, CONSOLE_INPUT, CONSOLE_DETACH, NET_STATS, BLK_STATS = 12, 13, 14, 15, 16
EV_CONSOLE = EVENT | 1

OK, EPROTO, ETYPE, EPERM, ENOENT, ESTATE, ENOMEM, EFULL, ECONFIG, ERANGE, EBUSY = \
    0, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10
LOADING, RUNNING, PAUSED, OFF, CRASHED = range(5)

HDR = struct.Struct("<IHHII")
STATUS = struct.Struct("<iI")
REF = struct.Struct("<II")
INFO = struct.Struct("<IIII32s8IQQQQ8Q")
HELLO_REC = struct.Struct("<IIIIQQ16sQ")
STATS_HEAD = struct.Struct("<QQQII")
DEV = struct.Struct("<16sQ")
NIC = struct.Struct("<16s32s6s2x5Q")
DISK = struct.Struct("<16sQII6Q")
CREATE_REC = struct.Struct("<64sII3Q8Q")
LOAD_REC = struct.Struct("<IIQ")
assert INFO.size == 176 and HELLO_REC.size == 56 and CREATE_REC.size == 160
assert NIC.size == 96 and DISK.size == 80

BLOB_IMAGE, BLOB_INITRD, BLOB_DTB, BLOB_DISK0 = 0, 1, 2, 16


class VM:
    def __init__(self, vid, name, state=RUNNING, flags=0, pcpus=(0,), ram=(0x40000000, 1 << 28),
                 uptime_ns=0, run_ns=0, exits=None):
        self.id, self.name, self.state, self.flags = vid, name, state, flags
        self.pcpus = list(pcpus)
        self.ram_base, self.ram_size = ram
        self.uptime_ns, self.run_ns = uptime_ns, run_ns
        self.exits = list(exits or [0] * 8)
        self.irqs, self.refused, self.unowned = 0, 0, 0
        self.devs = []          # (name, count)
        self.nics = []          # (dev, switch, mac bytes, tx, rx, tx_bad, tx_limited, rx_dropped)
        self.disks = []         # (dev, size, mediated, reads, writes, flushes, rbytes, wbytes, err)
        self.sizes = {}         # blob -> declared size (created VMs)
        self.loaded = {}        # blob -> bytes received
        self.config = b""

    def info(self):
        pc = self.pcpus + [0] * (8 - len(self.pcpus))
        return INFO.pack(self.id, self.state, self.flags, len(self.pcpus),
                         self.name.encode(), *pc, self.ram_base, self.ram_size,
                         self.uptime_ns, self.run_ns, *self.exits)

    def stats(self):
        devs = self.devs + [("", 0)] * (16 - len(self.devs))
        return (self.info() + STATS_HEAD.pack(self.irqs, self.refused, self.unowned,
                                              len(self.devs), 0) +
                b"".join(DEV.pack(n.encode(), c) for n, c in devs))

    def net_stats(self):
        nics = [NIC.pack(d.encode(), s.encode(), m, *c) for d, s, m, *c in self.nics]
        return (struct.pack("<II", len(self.nics), 0) + b"".join(nics) +
                bytes(NIC.size * (8 - len(self.nics))))

    def blk_stats(self):
        disks = [DISK.pack(d.encode(), size, med, 0, *c) for d, size, med, *c in self.disks]
        return (struct.pack("<II", len(self.disks), 0) + b"".join(disks) +
                bytes(DISK.size * (8 - len(self.disks))))


class FakeHyp:
    """Serves one pty. self.requests: (type, seq, payload) received; self.errors: every
    protocol violation bhctl made (a test asserts it is empty)."""

    def __init__(self, fd=None):
        """Serves a new pty (bhctl opens self.path), or fd: a connected socket (a QEMU
        virtio-console port's chardev)."""
        if fd is None:
            self.master, self.slave = os.openpty()
            tty.setraw(self.master)
            tty.setraw(self.slave)
            self.path = os.ttyname(self.slave)
        else:
            self.master, self.slave, self.path = fd, None, None
        self.requests, self.errors = [], []
        self.vms = {0: VM(0, "mgmt", flags=1, pcpus=(0,), ram=(0x40000000, 512 << 20))}
        self.nr_pcpus = 4
        self.pool_total, self.pool_free = 1 << 30, 1 << 30
        self.fail = {}          # type -> (status, text): refuse that operation
        self.split = 0          # write replies in pieces of this many bytes (0: whole)
        self.stale_before_reply = False
        self.hello_override = None
        self.version = VERSION  # of our replies' headers
        self.off_after_lists = None  # stop: VM goes OFF after this many LISTs
        self.on_list = None     # called before each LIST reply
        self.next_id = 1
        self.console = None
        self.lock = threading.Lock()
        self.buf = b""
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self):
        self.running = False
        self.thread.join(2)
        os.close(self.master)
        if self.slave is not None:
            os.close(self.slave)

    def types(self):
        return [t for t, _, _ in self.requests]

    # ---- wire ----
    def _write_all(self, data):
        while data:
            data = data[os.write(self.master, data):]

    def _write(self, data):
        if not self.split:
            self._write_all(data)
            return
        for i in range(0, len(data), self.split):
            self._write_all(data[i:i + self.split])
            time.sleep(0.001)

    def send(self, typ, seq, payload, version=None):
        self._write(HDR.pack(MAGIC, version or self.version, typ, seq, len(payload)) + payload)

    def reply(self, typ, seq, status=OK, data=b""):
        if self.stale_before_reply:  # a reply to someone else's request, and an event
            self.send(typ | REPLY, seq ^ 0x5555, STATUS.pack(OK, 0) + b"junk")
            self.send(EV_CONSOLE, 0, REF.pack(99, 0) + b"not for you")
        self.send(typ | REPLY, seq, STATUS.pack(status, 0) + data)

    def refuse(self, typ, seq, status, text):
        self.reply(typ, seq, status, text.encode() + b"\0")

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
                if magic != MAGIC or ver != VERSION or ln > MAX_PAYLOAD:
                    self.errors.append(f"bad header {magic:#x} v{ver} len {ln}")
                    self.buf = b""
                    break
                if len(self.buf) < HDR.size + ln:
                    break
                payload = self.buf[HDR.size:HDR.size + ln]
                self.buf = self.buf[HDR.size + ln:]
                with self.lock:
                    self.requests.append((typ, seq, payload))
                try:
                    self.handle(typ, seq, payload)
                except AssertionError as e:
                    self.errors.append(f"{typ}: {e}")
                    self.refuse(typ, seq, EPROTO, f"fake: {e}")

    # ---- operations ----
    def vm_ref(self, p):
        assert len(p) == REF.size, f"bhc_vm_ref payload of {len(p)} bytes"
        vid, res = REF.unpack(p)
        assert res == 0, "reserved field not zero"
        return vid

    def handle(self, typ, seq, p):
        if typ in self.fail:
            status, text = self.fail[typ]
            if typ == START:
                self.started_refused = True
            self.refuse(typ, seq, status, text)
            return
        h = getattr(self, "op_%d" % typ, None)
        assert h, f"unknown type {typ}"
        h(seq, p)

    def op_1(self, seq, p):  # HELLO
        assert p == b"", "HELLO has a payload"
        if self.hello_override is not None:
            self.reply(HELLO, seq, OK, self.hello_override)
            return
        self.reply(HELLO, seq, OK, HELLO_REC.pack(1, self.nr_pcpus, 8, len(self.vms),
                                                  self.pool_total, self.pool_free, b"0.1",
                                                  1 << 28))

    def op_2(self, seq, p):  # LIST
        assert p == b"", "LIST has a payload"
        if self.on_list:
            self.on_list(self)
        if self.off_after_lists is not None:
            self.off_after_lists -= 1
            if self.off_after_lists <= 0:
                for vm in self.vms.values():
                    if vm.state == RUNNING and getattr(vm, "stopping", False):
                        vm.state = OFF
        vms = sorted(self.vms.values(), key=lambda v: v.id)
        self.reply(LIST, seq, OK, struct.pack("<I", len(vms)) + b"".join(v.info() for v in vms))

    def op_3(self, seq, p):  # STATS
        vid = self.vm_ref(p)
        if vid not in self.vms:
            return self.refuse(STATS, seq, ENOENT, f"no VM {vid}")
        self.reply(STATS, seq, OK, self.vms[vid].stats())

    def op_4(self, seq, p):  # CREATE
        assert len(p) >= CREATE_REC.size, "CREATE shorter than bhc_create"
        f = CREATE_REC.unpack_from(p)
        name, cfg_size, flags = f[0].rstrip(b"\0").decode(), f[1], f[2]
        assert len(p) == CREATE_REC.size + cfg_size, "config_size does not match the payload"
        cfg = p[CREATE_REC.size:]
        assert cfg[:4] == b"\xd0\x0d\xfe\xed", "the configuration is not a DTB"
        assert f[3] > 0, "no image size"
        vid = self.next_id
        self.next_id += 1
        vm = VM(vid, "created%d" % vid, state=LOADING, flags=2)
        vm.file, vm.flags_req, vm.config = name, flags, cfg
        vm.sizes = {BLOB_IMAGE: f[3], BLOB_INITRD: f[4], BLOB_DTB: f[5]}
        for i in range(8):
            vm.sizes[BLOB_DISK0 + i] = f[6 + i]
        vm.sizes = {k: v for k, v in vm.sizes.items() if v}
        vm.loaded = {k: b"" for k in vm.sizes}
        self.vms[vid] = vm
        self.reply(CREATE, seq, OK, REF.pack(vid, 0))

    def op_5(self, seq, p):  # LOAD
        assert len(p) > LOAD_REC.size, "LOAD without data"
        vid, blob, off = LOAD_REC.unpack_from(p)
        data = p[LOAD_REC.size:]
        vm = self.vms.get(vid)
        assert vm and vm.state == LOADING, f"LOAD to VM {vid}, which is not loading"
        assert blob in vm.sizes, f"LOAD of blob {blob}, not declared in CREATE"
        assert off == len(vm.loaded[blob]), f"LOAD at {off}, expected {len(vm.loaded[blob])}"
        assert off + len(data) <= vm.sizes[blob], "LOAD beyond the declared size"
        assert len(p) + HDR.size <= 32768, "a LOAD message larger than one 32 KiB write"
        vm.loaded[blob] += data
        self.reply(LOAD, seq)

    def simple(self, typ, seq, p, ok_states, new_state):
        vid = self.vm_ref(p)
        vm = self.vms.get(vid)
        if not vm:
            return self.refuse(typ, seq, ENOENT, f"no VM with id {vid}")
        if vm.state not in ok_states:
            return self.refuse(typ, seq, ESTATE, f"vm '{vm.name}' is in the wrong state")
        if typ == START and vm.state == LOADING:
            for b, size in vm.sizes.items():
                assert len(vm.loaded[b]) == size, f"START before blob {b} was loaded"
        if new_state is not None:
            vm.state = new_state
        self.reply(typ, seq)
        return vm

    def op_6(self, seq, p):
        vid = self.vm_ref(p)
        vm = self.vms.get(vid)
        # a creation asked with BHC_CREATE_F_PAUSED starts paused (ctl_create.c)
        paused = vm is not None and vm.state == LOADING and getattr(vm, "flags_req", 0) & 1
        self.simple(START, seq, p, (LOADING, OFF, CRASHED), PAUSED if paused else RUNNING)

    def op_7(self, seq, p):
        vm = self.simple(STOP, seq, p, (RUNNING, PAUSED), None)
        if vm:
            vm.stopping = True

    def op_8(self, seq, p):
        self.simple(REBOOT, seq, p, (RUNNING, PAUSED, OFF, CRASHED), RUNNING)

    def op_9(self, seq, p):
        self.simple(PAUSE, seq, p, (RUNNING,), PAUSED)

    def op_10(self, seq, p):
        self.simple(UNPAUSE, seq, p, (PAUSED,), RUNNING)

    def op_11(self, seq, p):
        vid = self.vm_ref(p)
        if vid not in self.vms:
            return self.refuse(DESTROY, seq, ENOENT, f"no VM with id {vid}")
        del self.vms[vid]
        self.reply(DESTROY, seq)

    def op_12(self, seq, p):  # CONSOLE_ATTACH
        vid = self.vm_ref(p)
        if vid not in self.vms:
            return self.refuse(CONSOLE_ATTACH, seq, ENOENT, f"no VM with id {vid}")
        self.console = vid
        self.reply(CONSOLE_ATTACH, seq)
        self.send(EV_CONSOLE, 0, REF.pack(vid, 0) + b"login banner\r\n")

    def op_13(self, seq, p):  # CONSOLE_INPUT: echoes, as a shell would
        assert len(p) > REF.size, "CONSOLE_INPUT without bytes"
        vid, _ = REF.unpack_from(p)
        assert vid == self.console, "input for a VM not attached"
        self.send(EV_CONSOLE, 0, REF.pack(vid, 0) + b"echo:" + p[REF.size:])
        self.reply(CONSOLE_INPUT, seq)

    def op_14(self, seq, p):  # CONSOLE_DETACH
        assert p == b"", "DETACH has a payload"
        assert self.console is not None, "DETACH without ATTACH"
        self.console = None
        self.reply(CONSOLE_DETACH, seq)

    def op_15(self, seq, p):  # NET_STATS
        vid = self.vm_ref(p)
        if vid not in self.vms:
            return self.refuse(NET_STATS, seq, ENOENT, f"no VM {vid}")
        self.reply(NET_STATS, seq, OK, self.vms[vid].net_stats())

    def op_16(self, seq, p):  # BLK_STATS
        vid = self.vm_ref(p)
        if vid not in self.vms:
            return self.refuse(BLK_STATS, seq, ENOENT, f"no VM {vid}")
        self.reply(BLK_STATS, seq, OK, self.vms[vid].blk_stats())
