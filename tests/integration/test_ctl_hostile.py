"""The control service under hostile requests (issue #5: every request validated as if from an
attacker). From the management VM of configs/mgmt.dts, `bhctl raw` sends malformed headers,
unknown types, payloads of the wrong size, unknown ids, LOADs out of order or past the declared
size, refused configurations and forbidden state transitions, requests joined in one write and
one split over several; each reply's exact status is asserted. A ticker guest keeps ticking
throughout, and afterwards the VMs, the pool and the hypervisor's own free memory are as
before, with no unhandled trap."""

import re
import struct
import subprocess

from helpers import assert_clean, assert_consecutive, last_tick, ticks, wait_tick
from test_mgmt import MgmtShell, requires_mgmt

MAGIC = 0x31434842
HDR = struct.Struct("<IHHII")
REF = struct.Struct("<II")
LOAD_REC = struct.Struct("<IIQ")
CREATE_REC = struct.Struct("<64sII3Q8Q")
HELLO, LIST, STATS, CREATE, LOAD, START, STOP, REBOOT, PAUSE, UNPAUSE, DESTROY = range(1, 12)
CONSOLE_ATTACH, CONSOLE_INPUT, CONSOLE_DETACH, NET_STATS, BLK_STATS = 12, 13, 14, 15, 16
OK, EPROTO, ETYPE, EPERM, ENOENT, ESTATE, ENOMEM, EFULL, ECONFIG, ERANGE, EBUSY = \
    0, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10
# the operations whose payload is exactly a bhc_vm_ref
REF_OPS = [STATS, START, STOP, REBOOT, PAUSE, UNPAUSE, DESTROY, CONSOLE_ATTACH, NET_STATS,
           BLK_STATS]

# PSCI SYSTEM_OFF by HVC: movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0; b .
OFF_LINE = "vm 'poff': powered off (PSCI SYSTEM_OFF)"
POWEROFF = struct.pack("<4I", 0xD2B08000, 0xF2800100, 0xD4000002, 0x14000000)

DTS = '/dts-v1/; / {{ compatible = "bulkhead,system-v1"; vms {{ {} }}; }};'
WRAP = 100
LINE = re.compile(r'^(reply|event) seq=(\d+) type=0x([0-9a-f]{4}) \((\S+)\) version=(\d+) '
                  r'len=(\d+)(?: status=(-?\d+) \((\w+)\))?(?: msg="(.*)"| data=([0-9a-f]+))?$')


def msg(typ, seq, payload=b"", magic=MAGIC, version=1, length=None):
    return HDR.pack(magic, version, typ, seq, len(payload) if length is None else length) \
        + payload


def ref(vid):
    return REF.pack(vid, 0)


def create_rec(config_size, image=len(POWEROFF), flags=0, file=b"hostile.dts"):
    return CREATE_REC.pack(file, config_size, flags, image, 0, 0, *[0] * 8)


class Raw:
    """`bhctl raw` in the management VM; returns the replies (dicts) it printed."""

    def __init__(self, sh):
        self.sh = sh

    def __call__(self, *writes, opts="", rc=0):
        args = [w.hex() if isinstance(w, bytes) else w for w in writes]
        cmd = f"raw {opts} " + " ".join(args)
        if len(cmd) > 700:  # the shell's line editor takes 1 KiB: go through a file
            assert all(isinstance(w, bytes) for w in writes), "@FILE in a long raw command"
            self.sh.run("rm -f /tmp/raw.hex")
            for w in args:
                pieces = [w[i:i + 600] for i in range(0, len(w), 600)]
                for k, p in enumerate(pieces):
                    tail = "\\\\" if k + 1 < len(pieces) else ""
                    self.sh.run(f"echo {p}{tail} >>/tmp/raw.hex")
            cmd = f"raw {opts} -f /tmp/raw.hex"
        # The console splits lines of over 160 characters (VUART_LINE_MAX) and may put
        # another VM's line between the pieces: cut them at 100 with a "\\" to join them.
        out = self.sh.run(f"bhctl {cmd} >/tmp/raw.out 2>&1; rc=$?; awk '{{while (length($0) > "
                          f"{WRAP}) {{ print substr($0, 1, {WRAP}) \"\\\\\"; $0 = substr($0, "
                          f"{WRAP + 1}) }} print }}' /tmp/raw.out; echo BH-RC=$rc")
        assert out and out[-1] == f"BH-RC={rc}", f"bhctl {cmd}: " + "\n".join(out)
        lines = [""]
        for piece in out[:-1]:
            if len(piece) == WRAP + 1 and piece.endswith("\\"):
                lines[-1] += piece[:-1]
            else:
                lines[-1] += piece
                lines.append("")
        replies = []
        for line in lines[:-1]:
            m = LINE.match(line)
            assert m, f"bhctl raw printed {line!r}"
            if m.group(1) != "reply":
                continue
            replies.append(dict(seq=int(m.group(2)), type=int(m.group(3), 16),
                                status=None if m.group(7) is None else int(m.group(7)),
                                name=m.group(8), msg=m.group(9),
                                data=bytes.fromhex(m.group(10) or "")))
        return replies

    def one(self, *writes, status, seq=None, opts="", has=None):
        """Sends writes holding one request; asserts exactly one reply, with this status."""
        r = self(*writes, opts=opts)
        assert len(r) == 1, r
        assert r[0]["status"] == status, r
        if seq is not None:
            assert r[0]["seq"] == seq, r
        if has is not None:
            assert has in (r[0]["msg"] or ""), r
        return r[0]


def expect(replies, want):
    """replies answer want = [(seq, type, status)] exactly, in order."""
    got = [(r["seq"], r["type"], r["status"]) for r in replies]
    assert got == [(s, t | 0x8000, st) for s, t, st in want], replies


@requires_mgmt
def test_hostile_control_requests(system):
    con = system("mgmt")
    sh = MgmtShell(con, "mgmt")
    sh.wait_ready()
    sh.setup()
    raw = Raw(sh)
    assert sh.bhctl("raw --help")[0].startswith("usage: bhctl raw")
    out = sh.bhctl("create /guests/ticker.dts")
    assert out[-1] == "bhctl: vm 1 'ticker' created and started", out
    wait_tick(con, "ticker", 3)
    vms0 = {n: (v["id"], v["state"], v["kind"]) for n, v in sh.vms().items()}
    assert vms0 == {"mgmt": (0, "running", "mgmt"), "ticker": (1, "running", "dyn")}
    pool0, hyp0 = sh.pool_free(), sh.hyp_free()

    # --- headers: bad magic, other versions, len over BHC_MAX_PAYLOAD: EPROTO with the seq
    # echoed, the rest of that write dropped (the HELLO after it: no reply), and the channel
    # serves the next write.
    for seq, bad in [(11, msg(HELLO, 11, magic=0x31434843)), (12, msg(HELLO, 12, version=2)),
                     (13, msg(HELLO, 13, version=0)), (14, msg(LIST, 14, length=65537)),
                     (15, msg(LIST, 15, length=0xffffffff))]:
        r = raw(bad + msg(HELLO, 99), msg(HELLO, seq + 100), opts="-s %d" % (seq + 100))
        expect(r, [(seq, bad[6], EPROTO), (seq + 100, HELLO, OK)])
        assert "bad message header" in r[0]["msg"], r

    # --- one write, many requests: unknown types (ETYPE), payloads shorter or longer than
    # the record of each fixed-size operation (EPROTO); all answered, in order.
    batch, want = b"", []
    for t in [0, 17, 99, 0x4001, 0x4010, 0x8001, 0xFFFF]:
        seq = 200 + len(want)
        batch += msg(t, seq, ref(1))
        want.append((seq, t, ETYPE))
    for t in [HELLO, LIST, CONSOLE_DETACH]:
        seq = 200 + len(want)
        batch += msg(t, seq, b"\0")
        want.append((seq, t, EPROTO))
    for t in REF_OPS + [CONSOLE_INPUT]:
        seq = 200 + len(want)
        batch += msg(t, seq, ref(1)[:7])
        want.append((seq, t, EPROTO))
    for t in REF_OPS:
        seq = 200 + len(want)
        batch += msg(t, seq, ref(1) + b"\0")
        want.append((seq, t, EPROTO))
    batch += msg(CREATE, 240, create_rec(0)[:159]) + msg(LOAD, 241, LOAD_REC.pack(1, 0, 0)[:15])
    want += [(240, CREATE, EPROTO), (241, LOAD, EPROTO)]
    batch += msg(HELLO, 242)
    want.append((242, HELLO, OK))
    expect(raw(batch), want)
    # CONSOLE_INPUT with one byte more than its 4096
    sh.run("head -c 4097 /dev/zero >/tmp/z4097")
    raw.one("--msg 13 243 0100000000000000 @/tmp/z4097", status=EPROTO, seq=243)

    # --- ids nothing has: ENOENT from every operation that names a VM
    for vid in [8, 99, 0xFFFFFFFF]:
        batch, want = b"", []
        for t in REF_OPS + [CONSOLE_INPUT]:
            seq = 300 + len(want)
            batch += msg(t, seq, ref(vid) + (b"x" if t == CONSOLE_INPUT else b""))
            want.append((seq, t, ENOENT))
        batch += msg(LOAD, 330, LOAD_REC.pack(vid, 0, 0) + b"\0")
        want.append((330, LOAD, ENOENT))
        r = raw(batch)
        expect(r, want)
        assert all(x["msg"] == f"no VM with id {vid}" for x in r[:-1]), r

    # --- the management VM cannot be its own target
    r = raw(msg(CONSOLE_INPUT, 400, ref(0) + b"x") + msg(CONSOLE_ATTACH, 401, ref(0)) +
            msg(DESTROY, 402, ref(0)) + msg(STOP, 403, ref(0)) + msg(PAUSE, 404, ref(0)) +
            msg(REBOOT, 405, ref(0)) + msg(START, 406, ref(0)))
    expect(r, [(400, CONSOLE_INPUT, EBUSY), (401, CONSOLE_ATTACH, EBUSY),
               (402, DESTROY, EBUSY), (403, STOP, EBUSY), (404, PAUSE, EBUSY),
               (405, REBOOT, EBUSY), (406, START, EBUSY)])
    assert "cannot destroy itself" in r[2]["msg"], r

    # --- configurations: compiled in the VM from variants of ticker.dts
    vm = ("{0} {{ vcpus = <1>; pcpus = <2>; memory = <0x0 0x40000000 0x0 0x200000>; "
          "image = \"poff.bin\"; {1} }};")
    dts = {
        "poff": vm.format("poff", ""),
        "two": vm.format("aa", "") + " " + vm.format("bb", ""),
        "chan": vm.format("aa", "") + " }; channels { c0 { vms = \"aa\", \"aa\"; "
                "size = <0x0 0x1000>; ipa = <0x0 0x20000000>; };",
        "mgmt": vm.format("boss", "management;"),
        "dup": vm.format("ticker", ""),
    }
    size = {}
    for name, body in dts.items():
        sh.run(f"echo '{DTS.format(body)}' >/tmp/{name}.dts")
        out = sh.run(f"dtc -q -O dtb -o /tmp/{name}.dtb /tmp/{name}.dts && "
                     f"stat -c %s /tmp/{name}.dtb")
        size[name] = int(out[-1])
    for name, has in [("two", "a VM created at run time is one VM (the file has 2)"),
                      ("chan", "channel 'c0': field 'vms': names VM 'aa' twice"),
                      ("mgmt", "field 'management': only a boot-time VM can be the manag"),
                      ("dup", "vm 'ticker': field 'name': VM 1 already has this name")]:
        r = raw.one(msg(CREATE, 500, length=160 + size[name]) + create_rec(size[name]),
                    f"@/tmp/{name}.dtb", status=ECONFIG, has=has)
    # config_size not the payload's; garbage instead of a DTB
    raw.one(msg(CREATE, 510, length=160 + size["poff"]) + create_rec(size["poff"] + 1),
            "@/tmp/poff.dtb", status=EPROTO, has="configuration of")
    raw.one(msg(CREATE, 511, length=160 + size["poff"]) + create_rec(size["poff"] - 1),
            "@/tmp/poff.dtb", status=EPROTO, has="configuration of")
    garbage = bytes(range(7, 7 + 96))
    raw.one(msg(CREATE, 512, create_rec(96) + garbage), status=ECONFIG)
    raw.one(msg(CREATE, 513, create_rec(40) + b"\xd0\x0d\xfe\xed" + b"\xff" * 36),
            status=ECONFIG)

    # --- LOAD and START against a VM being created (id 2, one request stream: closing the
    # port abandons the creation), then the whole well-formed path: a VM that powers off.
    # (the configuration compiled on the host: the command is too long for @FILE)
    poff = subprocess.run(["dtc", "-q", "-O", "dtb"], input=DTS.format(dts["poff"]).encode(),
                          capture_output=True, check=True).stdout
    create = msg(CREATE, 600, create_rec(len(poff), flags=1) + poff)
    steps = [
        (msg(LOAD, 601, LOAD_REC.pack(2, 0, 0) + POWEROFF[:4]), LOAD, OK),
        (msg(LOAD, 602, LOAD_REC.pack(2, 0, 8) + POWEROFF[8:]), LOAD, ERANGE),   # a gap
        (msg(LOAD, 603, LOAD_REC.pack(2, 0, 0) + POWEROFF[:4]), LOAD, ERANGE),   # again
        (msg(LOAD, 604, LOAD_REC.pack(2, 0, 4) + POWEROFF[4:] + b"\0"), LOAD, ERANGE),  # past
        (msg(LOAD, 605, LOAD_REC.pack(2, 1, 0) + b"\0"), LOAD, ERANGE),  # initrd: undeclared
        (msg(LOAD, 606, LOAD_REC.pack(2, 0xFFFFFFFF, 0) + b"\0"), LOAD, ERANGE),
        (msg(LOAD, 607, LOAD_REC.pack(2, 0, 1 << 63) + b"\0"), LOAD, ERANGE),
        (msg(LOAD, 608, LOAD_REC.pack(3, 0, 0) + b"\0"), LOAD, ENOENT),   # no VM 3
        (msg(LOAD, 609, LOAD_REC.pack(1, 0, 0) + b"\0"), LOAD, ESTATE),   # the ticker
        (msg(START, 610, ref(2)), START, ESTATE),                          # 4 of 16 bytes
        (msg(STATS, 611, ref(2)), STATS, ESTATE),                          # loading
        (msg(PAUSE, 612, ref(2)), PAUSE, ESTATE),
        (msg(CONSOLE_ATTACH, 613, ref(2)), CONSOLE_ATTACH, ESTATE),
        (msg(LOAD, 614, LOAD_REC.pack(2, 0, 4) + POWEROFF[4:]), LOAD, OK),
        (msg(LOAD, 615, LOAD_REC.pack(2, 0, 16)), LOAD, OK),               # nothing: at the end
        (msg(LOAD, 616, LOAD_REC.pack(2, 0, 16) + b"\0"), LOAD, ERANGE),   # past the end
        (msg(START, 617, ref(2)), START, OK),                              # created paused
    ]
    r = raw(create, *[s for s, _, _ in steps], opts="-s 617")
    expect(r, [(600, CREATE, OK)] + [(int.from_bytes(s[8:12], "little"), t, st)
                                     for s, t, st in steps])
    assert r[1 + 9]["msg"] == "'poff': file 0 has 4 of 16 bytes", r
    assert r[1 + 10]["msg"] == "VM 2 'poff' is loading: it can be loaded, started or destroyed"
    assert r[0]["data"] == ref(2)
    assert r[1 + 1]["msg"] == "file 0: 8 bytes at 8, expected the next at 4 of 16", r

    # --- state transitions: pause of a paused VM, unpause of a running one, start of a
    # running one; the VM powers off; stop, pause, unpause of an off VM
    expect(raw(msg(PAUSE, 700, ref(2)) + msg(UNPAUSE, 701, ref(1)) + msg(START, 702, ref(1))),
           [(700, PAUSE, ESTATE), (701, UNPAUSE, ESTATE), (702, START, ESTATE)])
    raw.one(msg(UNPAUSE, 703, ref(2)), status=OK)
    con.wait_until(lambda: con.lines("hyp").count(OFF_LINE) == 1, "poff off", 30)
    assert sh.vms()["poff"]["state"] == "off"
    r = raw(msg(STOP, 710, ref(2)) + msg(PAUSE, 711, ref(2)) + msg(UNPAUSE, 712, ref(2)) +
            msg(REBOOT, 713, ref(2)) + msg(START, 714, ref(2)))
    expect(r, [(710, STOP, ESTATE), (711, PAUSE, ESTATE), (712, UNPAUSE, ESTATE),
               (713, REBOOT, ESTATE), (714, START, OK)])
    assert r[0]["msg"] == "cannot stop 'poff': it is off", r
    con.wait_until(lambda: con.lines("hyp").count(OFF_LINE) == 2, "poff off again", 30)
    raw.one(msg(DESTROY, 720, ref(2)), status=OK)
    raw.one(msg(DESTROY, 721, ref(2)), status=ENOENT)

    # --- one request split over several writes (a header cut in two, the payload apart),
    # then two requests whose bytes straddle writes: all answered, in order
    a, b, c = msg(STATS, 800, ref(1)), msg(HELLO, 801), msg(LIST, 802)
    r = raw(a[:3], a[3:13], a[13:20], a[20:], b[:5], b[5:] + c[:17], c[17:], opts="-d 50")
    expect(r, [(800, STATS, OK), (801, HELLO, OK), (802, LIST, OK)])

    # --- the id CREATE answers is the VM's, even if a lower slot frees before START: a second
    # VM (t2, powers off) takes id 2, CREATE answers 3, t2 is destroyed (slot 2 free), START
    # still makes VM 3
    t2 = subprocess.run(["dtc", "-q", "-O", "dtb"], capture_output=True, check=True,
                        input=DTS.format(vm.format("t2", "")).encode()).stdout
    expect(raw(msg(CREATE, 900, create_rec(len(t2)) + t2),
               msg(LOAD, 901, LOAD_REC.pack(2, 0, 0) + POWEROFF), msg(START, 902, ref(2)),
               opts="-s 902"),
           [(900, CREATE, OK), (901, LOAD, OK), (902, START, OK)])
    r = raw(msg(CREATE, 910, create_rec(len(poff)) + poff),
            msg(DESTROY, 911, ref(2)),
            msg(LOAD, 912, LOAD_REC.pack(3, 0, 0) + POWEROFF), msg(START, 913, ref(3)),
            opts="-s 913")
    expect(r, [(910, CREATE, OK), (911, DESTROY, OK), (912, LOAD, OK), (913, START, OK)])
    assert r[0]["data"] == ref(3), r
    assert {n: v["id"] for n, v in sh.vms().items()} == {"mgmt": 0, "ticker": 1, "poff": 3}
    raw.one(msg(DESTROY, 920, ref(3)), status=OK)

    # --- afterwards: the same VMs, all memory back, the ticker never stopped
    assert {n: (v["id"], v["state"], v["kind"]) for n, v in sh.vms().items()} == vms0
    assert sh.pool_free() == pool0 and sh.hyp_free() == hyp0
    n = last_tick(con, "ticker")
    wait_tick(con, "ticker", n + 3)
    assert_consecutive(ticks(con, "ticker"), "ticker")
    assert not [t for t in con.lines("hyp") if "unhandled" in t or "dropped" in t]
    assert_clean(con)
