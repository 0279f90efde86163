# Unit tests: hypervisor code compiled natively with ASan/UBSan and run on the host.
# Test files (tests/unit/test_*.c) and configs (tests/unit/configs/*.dts) are found
# automatically; add code under test to UNIT_CODE.

UNIT_DIR := $(BUILD)/unit
UNIT_BIN := $(UNIT_DIR)/unit_tests
UNIT_CODE := hyp/lib/fdt.c hyp/lib/fdt_write.c hyp/core/config.c hyp/core/config_devices.c \
	hyp/core/config_channels.c hyp/core/config_passthrough.c hyp/core/package.c \
	hyp/arch/aarch64/guest_dtb.c
UNIT_CODE += $(wildcard hyp/core/mem/palloc.c hyp/arch/aarch64/stage2_pt.c \
			hyp/arch/aarch64/mmio_decode.c hyp/core/mmio.c hyp/core/image.c \
			hyp/core/dev/virtqueue.c hyp/core/dev/virtio_mmio.c hyp/core/dev/virtio_blk.c \
			hyp/core/dev/vswitch.c hyp/core/dev/virtio_net.c \
			hyp/core/dev/virtio_console.c)
UNIT_SRCS := tests/unit/main.c $(wildcard tests/unit/test_*.c) $(UNIT_CODE)
UNIT_DTS := $(wildcard tests/unit/configs/*.dts)
UNIT_DTBS := $(patsubst tests/unit/configs/%.dts,$(UNIT_DIR)/configs/%.dtb,$(UNIT_DTS))
UNIT_CFLAGS := -std=c11 -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all -DBH_HOST -Ihyp/include -Ihyp/arch/aarch64/include -Itests/unit \
	-Wall -Wextra -Werror \
	-DUNIT_CONFIG_DIR=\"$(UNIT_DIR)/configs\" -DUNIT_BHPACK=\"$(BHPACK)\"

.PHONY: unit
unit: $(UNIT_BIN) $(UNIT_DTBS) $(BHPACK)
	$(UNIT_BIN)

UNIT_HDRS := $(wildcard tests/unit/*.h hyp/include/*/*.h hyp/arch/aarch64/include/*/*.h)
# Code a test compiles into itself (#include), with its outside calls renamed to fakes.
UNIT_INCLUDED := hyp/core/dev/vgpio_pl061.c hyp/core/dev/blk_mediated.c hyp/core/ctl/ctl.c

$(UNIT_BIN): $(UNIT_SRCS) $(UNIT_HDRS) $(UNIT_INCLUDED)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(UNIT_SRCS)

# -q: the test configs are deliberately odd; dtc's style warnings are noise here.
$(UNIT_DIR)/configs/%.dtb: tests/unit/configs/%.dts
	@mkdir -p $(dir $@)
	dtc -q -I dts -O dtb -o $@ $<
