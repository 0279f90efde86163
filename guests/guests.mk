# Bulkhead test guests (included by the top-level Makefile; run from the repository root).
# Every folder guests/<name>/ except guests/lib/ is one guest: its .c and .S files are linked
# with the runtime in guests/lib/ into $(BUILD)/guests/<name>.elf and the flat binary
# $(BUILD)/guests/<name>.bin (an arm64 Image, linked at 0x40080000).

GUEST_CFLAGS := -std=c11 -O2 -ffreestanding -nostdlib -mgeneral-regs-only -mstrict-align \
	-fno-stack-protector -fno-pic -fno-tree-loop-distribute-patterns \
	-fno-asynchronous-unwind-tables -fno-unwind-tables \
	-Wall -Wextra -Werror -Iguests/lib -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -T guests/lib/link.ld --no-warn-rwx-segments

GUEST_NAMES := $(sort $(filter-out lib,$(patsubst guests/%/,%,$(dir $(wildcard guests/*/*.c guests/*/*.S)))))
GUEST_LIB_SRCS := $(wildcard guests/lib/*.c guests/lib/*.S)
# Formatting and string functions: the hypervisor's freestanding ones, shared, not copied.
GUEST_SHARED_SRCS := hyp/lib/printf.c hyp/lib/string.c
GUEST_LIB_OBJS := $(patsubst guests/%,$(BUILD)/guests/%.o,$(GUEST_LIB_SRCS)) \
	$(patsubst hyp/lib/%,$(BUILD)/guests/shared/%.o,$(GUEST_SHARED_SRCS))
GUEST_BINS := $(foreach g,$(GUEST_NAMES),$(BUILD)/guests/$(g).bin $(BUILD)/guests/$(g).elf)

.PHONY: guests
guests: $(GUEST_BINS)

$(BUILD)/guests/%.c.o: guests/%.c guests/guests.mk
	@mkdir -p $(dir $@)
	$(CC_AA64) $(GUEST_CFLAGS) -c -o $@ $<

$(BUILD)/guests/shared/%.c.o: hyp/lib/%.c guests/guests.mk
	@mkdir -p $(dir $@)
	$(CC_AA64) $(GUEST_CFLAGS) -Ihyp/include -c -o $@ $<

$(BUILD)/guests/%.S.o: guests/%.S guests/guests.mk
	@mkdir -p $(dir $@)
	$(CC_AA64) $(GUEST_CFLAGS) -c -o $@ $<

define GUEST_template
$(BUILD)/guests/$(1).elf: $(patsubst guests/%,$(BUILD)/guests/%.o,$(wildcard guests/$(1)/*.c guests/$(1)/*.S)) $(GUEST_LIB_OBJS) guests/lib/link.ld
	$$(LD_AA64) $$(GUEST_LDFLAGS) -o $$@ $$(filter %.o,$$^)
endef
$(foreach g,$(GUEST_NAMES),$(eval $(call GUEST_template,$(g))))

$(BUILD)/guests/%.bin: $(BUILD)/guests/%.elf
	$(OBJCOPY) -O binary $< $@

-include $(shell find $(BUILD)/guests -name '*.d' 2>/dev/null)
