# Host tools: bhpack packs a configuration and its images into a system package. It compiles
# the hypervisor's own config parser, FDT reader and package code with -DBH_HOST.

BHPACK := $(BUILD)/tools/bhpack
BHPACK_SRCS := tools/bhpack/bhpack.c hyp/lib/fdt.c hyp/core/config.c hyp/core/config_devices.c \
	hyp/core/config_channels.c hyp/core/config_passthrough.c hyp/core/package.c \
	hyp/core/image.c
TOOLS_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -DBH_HOST -Ihyp/include

.PHONY: tools
tools: $(BHPACK)

$(BHPACK): $(BHPACK_SRCS) $(wildcard hyp/include/bulkhead/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(TOOLS_CFLAGS) -o $@ $(BHPACK_SRCS)

# Validates CONFIG without writing a package.
check-config: $(BHPACK)
	$(BHPACK) -I $(BUILD) --check $(CONFIG)
