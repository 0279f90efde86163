# The hypervisor image: build/bulkhead.bin (an arm64 Image QEMU boots at EL2) and
# build/bulkhead.elf (the same with symbols, for gdb).

HYP_ARCH    := aarch64
HYP_DIR     := $(BUILD)/hyp
HYP_CFLAGS  := -std=c11 -O2 -g -ffreestanding -nostdlib -mgeneral-regs-only -mstrict-align \
               -fno-common -fno-stack-protector -fno-pie -fno-omit-frame-pointer -mno-outline-atomics \
               -ffunction-sections -fdata-sections \
               -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
               -Ihyp/include -Ihyp/arch/$(HYP_ARCH)/include -I$(HYP_DIR)/include -MMD -MP
HYP_ASFLAGS := -g -Ihyp/include -Ihyp/arch/$(HYP_ARCH)/include -I$(HYP_DIR)/include -MMD -MP
HYP_LDS     := hyp/arch/$(HYP_ARCH)/linker.ld

HYP_CSRC := $(wildcard hyp/core/*.c hyp/core/*/*.c hyp/lib/*.c hyp/drivers/*.c \
                       hyp/arch/$(HYP_ARCH)/*.c)
HYP_CSRC := $(filter-out hyp/arch/$(HYP_ARCH)/asm-offsets.c,$(HYP_CSRC))
HYP_SSRC := $(wildcard hyp/arch/$(HYP_ARCH)/*.S)
HYP_OBJS := $(patsubst %.c,$(HYP_DIR)/%.o,$(HYP_CSRC)) $(patsubst %.S,$(HYP_DIR)/%.o,$(HYP_SSRC))
HYP_OFFSETS := $(HYP_DIR)/include/asm-offsets.h

.PHONY: hyp
hyp: $(BUILD)/bulkhead.bin

# Structure offsets for assembly, generated from the C structs (never written by hand).
$(HYP_OFFSETS): hyp/arch/$(HYP_ARCH)/asm-offsets.c $(wildcard hyp/include/bulkhead/*.h hyp/arch/$(HYP_ARCH)/include/arch/*.h)
	@mkdir -p $(dir $@)
	$(CC_AA64) $(filter-out -MMD -MP,$(HYP_CFLAGS)) -S -o $@.s $<
	sed -n 's/.*->\([A-Z_0-9]*\) #\{0,1\}\([0-9-]*\).*/#define \1 \2/p' $@.s > $@.tmp
	mv $@.tmp $@

$(HYP_DIR)/%.o: %.c | $(HYP_OFFSETS)
	@mkdir -p $(dir $@)
	$(CC_AA64) $(HYP_CFLAGS) -c -o $@ $<

$(HYP_DIR)/%.o: %.S $(HYP_OFFSETS)
	@mkdir -p $(dir $@)
	$(CC_AA64) $(HYP_ASFLAGS) -c -o $@ $<

$(BUILD)/bulkhead.elf: $(HYP_OBJS) $(HYP_LDS)
	$(LD_AA64) -T $(HYP_LDS) --gc-sections --no-warn-rwx-segments -nostdlib -o $@ $(HYP_OBJS)

$(BUILD)/bulkhead.bin: $(BUILD)/bulkhead.elf
	$(OBJCOPY) -O binary $< $@

-include $(HYP_OBJS:.o=.d)
