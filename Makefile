# Bulkhead: top-level build. `make` builds the hypervisor, the test guests, the host tools and
# the default system package; `make run` boots it in QEMU; `make test` runs every test.
# Each part has its own fragment: hyp/hyp.mk, guests/guests.mk, tools/tools.mk,
# tests/unit/unit.mk.

CROSS   ?= aarch64-linux-gnu-
CC_AA64 := $(CROSS)gcc
LD_AA64 := $(CROSS)ld
OBJCOPY := $(CROSS)objcopy
HOSTCC  ?= gcc
BUILD   := build
CONFIG  ?= configs/default.dts
PYTHON  ?= /usr/bin/python3

.PHONY: all run test unit integration bench clean check-config format
all: hyp guests tools $(BUILD)/default.pkg

include hyp/hyp.mk
include guests/guests.mk
include tools/tools.mk
include tests/unit/unit.mk

# The system package for CONFIG (see docs/config.md).
$(BUILD)/default.pkg: $(CONFIG) $(BHPACK) guests
	$(BHPACK) -I $(BUILD) -o $@ $(CONFIG)

run: all
	scripts/qemu.sh $(BUILD)/default.pkg

test: unit integration

integration: all
	$(PYTHON) -m pytest -v tests/integration

clean:
	rm -rf $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# The Linux guest: Debian's arm64 kernel and a busybox initramfs in build/linux/ (downloaded
# from Debian's archive into cache/ by scripts/fetch-linux.sh; quick once done).
.PHONY: linux bench-linux bench-virtio
linux:
	scripts/fetch-linux.sh

# Linux boot time directly on QEMU and under Bulkhead (bench/README.md).
bench-linux: all linux
	$(PYTHON) bench/linux_boot.py

# virtio-net and virtio-blk throughput and latency, Bulkhead against QEMU's own devices
# (bench/README.md). Not part of `make bench`: it takes a few minutes.
bench-virtio: all linux
	$(PYTHON) bench/virtio.py

# Exit costs in instructions under QEMU -icount, under Bulkhead and directly on QEMU, beside the
# anchors' KVM and Xen figures, then Linux's boot time against the same kernel directly on QEMU
# (bench/README.md). Writes bench/results/.
bench: all linux
	$(PYTHON) bench/run.py --no-build
	$(PYTHON) bench/linux_boot.py
