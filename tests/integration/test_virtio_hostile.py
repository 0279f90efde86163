"""A guest feeding its virtio-blk disk broken rings (configs/virtio_hostile.dts): a looping
descriptor chain, a buffer outside its RAM, a huge length, an available index far ahead, a head
out of range, a descriptor table outside its RAM, and with indirect descriptors negotiated a
table outside its RAM, a table in a table, INDIRECT with NEXT, a table of 24 bytes. Each time the device refuses the queue with
DEVICE_NEEDS_RESET (and a configuration-change interrupt once the driver is running), the
hypervisor says so once on the console, and after a reset the device serves a good read again.
Bad requests get IOERR / UNSUPP without a reset; an 8-byte register read gets an external
abort. Meanwhile a ticker VM on another physical CPU keeps ticking."""

import re

from helpers import check_results, assert_clean, last_tick, started_pcpus, wait_tick

VM = "vhostile"
RESULT = re.compile(r"^virtio-hostile: ([a-z0-9-]+): (.*): (ok|FAIL)$")
REFUSED = ["i-loop", "j-outside-ram", "k-huge-length", "l-index-ahead", "m-head-range"]
INDIRECT = ["q-indirect-outside", "r-indirect-nested", "s-indirect-next", "t-indirect-len"]
CHECKS = (["a-probe", "b-features", "c-no-version-1", "setup", "d-capacity", "e-write-read",
           "f-get-id", "g-ioerr", "h-unsupp"]
          + [t for tag in REFUSED for t in (tag, tag + "-recovered")]
          + ["n-ring-outside", "n-ring-outside-recovered", "o-wide-access", "p-indirect-read"]
          + [t for tag in INDIRECT for t in (tag, tag + "-recovered")])
# The hypervisor's report for each refusal, in order (hyp/core/dev/virtqueue.c's words).
REPORTS = [
    r"the chain from head 0 has more than 8 descriptors \(a loop\?\)",
    r"descriptor 1: buffer 0x20000000\+0x200 is outside the VM's RAM",
    r"descriptor 1: length 0xffffff00 makes the chain longer than 16 MiB",
    # (after a recovery read: the device is at index 1)
    r"available index 1001 is 1000 entries ahead of the device's 1 \(queue size 8\)",
    r"available ring entry 1: head 200 is not below the queue size 8",
    r"rings outside the VM's RAM \(descriptors 0x30000000, driver 0x0, device 0x0\)",
    # indirect tables (negotiated)
    r"descriptor 0: indirect table 0x20000000\+0x30 is outside the VM's RAM",
    r"indirect descriptor 1 points to another table \(one level only\)",
    r"descriptor 0 is indirect and has NEXT",
    r"descriptor 0: indirect table length 0x18 is not a non-zero multiple of 16",
]


def test_virtio_hostile_guest_is_contained(system):
    con = system("virtio_hostile")
    con.wait_for(rf"^\[hyp\] vm '{VM}': virtio-blk@0 at 0xa000000 \(INTID 48\): 1024 KiB, empty$")
    assert started_pcpus(con, 0, VM) == [1]
    assert started_pcpus(con, 1, "ticker-vm") == [2]
    done = con.wait_for(r"^\[vhostile\] virtio-hostile: done (\d+) checks, (\d+) failures$",
                        timeout=60)
    ticks_at_done = last_tick(con, "ticker-vm")

    results = check_results(con, VM, RESULT)
    assert list(results) == CHECKS
    assert (int(done.group(1)), int(done.group(2))) == (len(CHECKS), 0)
    for tag in REFUSED + INDIRECT:  # NEEDS_RESET (0x40) with DRIVER_OK, config interrupt (2)
        assert results[tag][0] == "status 0x4f interrupt status 0x2, nothing used", results[tag]
    assert results["f-get-id"][0] == "status 0 serial 'bulkhead-vhostile-0'"
    assert results["p-indirect-read"][0] == ("setup 0, used, status 0, data same, "
                                             "avail_event 1")

    # one report per refusal, in order, naming the device, the queue and the reason
    hyp = con.lines("hyp")
    reports = [t for t in hyp if t.startswith(f"vm '{VM}': virtio-blk@0: ")]
    assert len(reports) == len(REPORTS), "\n".join(reports)
    for text, why in zip(reports, REPORTS):
        assert re.fullmatch(rf"vm '{VM}': virtio-blk@0: queue 0: {why}; device needs reset",
                            text), text
    # the wide access: refused by the device, an external abort
    assert any(re.match(rf"^vm '{VM}' vcpu 0: data abort at IPA 0xa000000 \(read of 8 bytes, "
                        r"pc 0x[0-9a-f]+\): refused by the device", t) for t in hyp)

    # both VMs run on
    wait_tick(con, "ticker-vm", ticks_at_done + 10)
    wait_tick(con, VM, 3)
    assert not [t for t in hyp if "stopped" in t]
    assert_clean(con)
