# Host tools: bhpack packs a configuration and its images into a system package. It compiles
# the hypervisor's own config parser, FDT reader and package code with -DBH_HOST.

BHPACK := $(BUILD)/tools/bhpack
# The configuration parser, as the hypervisor has it (every tool that checks a file links it).
CONFIG_SRCS := hyp/lib/fdt.c $(wildcard hyp/core/config*.c)
BHPACK_SRCS := tools/bhpack/bhpack.c tools/common/hostfile.c $(CONFIG_SRCS) hyp/core/package.c hyp/core/image.c
TOOLS_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -DBH_HOST -Ihyp/include

.PHONY: tools
tools: $(BHPACK)

$(BHPACK): $(BHPACK_SRCS) $(wildcard hyp/include/bulkhead/*.h tools/common/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(TOOLS_CFLAGS) -o $@ $(BHPACK_SRCS)

# Validates CONFIG without writing a package.
check-config: $(BHPACK)
	$(BHPACK) -I $(BUILD) --check $(CONFIG)

# bhctl: the management VM's control tool (docs/control.md). Built natively for host tests and
# as a static arm64 Linux binary for the management VM's initramfs. It links the hypervisor's
# configuration parser, FDT reader and image placement (-DBH_HOST), like bhpack.
BHCTL := $(BUILD)/tools/bhctl
BHCTL_ARM64 := $(BUILD)/tools/bhctl-arm64
BHCTL_SRCS := $(wildcard tools/bhctl/*.c) tools/common/hostfile.c $(CONFIG_SRCS) hyp/core/image.c
BHCTL_DEPS := $(BHCTL_SRCS) $(wildcard tools/bhctl/*.h tools/common/*.h hyp/include/bulkhead/*.h)

tools: $(BHCTL) $(BHCTL_ARM64)

$(BHCTL): $(BHCTL_DEPS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(TOOLS_CFLAGS) -o $@ $(BHCTL_SRCS)

$(BHCTL_ARM64): $(BHCTL_DEPS)
	@mkdir -p $(dir $@)
	$(CC_AA64) $(TOOLS_CFLAGS) -static -o $@ $(BHCTL_SRCS)
