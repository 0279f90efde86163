#!/bin/sh
# Boots Bulkhead with a system package in QEMU's virt board (EL2 on, GICv3, 4 CPUs).
# Usage: scripts/qemu.sh PACKAGE [extra QEMU arguments...]
# Environment: QEMU_SMP (default 4), QEMU_MEM (default 2G), BULKHEAD (default build/bulkhead.bin).
# The console is this terminal. Ctrl-A three times switches which VM gets keyboard input;
# Ctrl-] then x quits QEMU (QEMU's escape key is moved off Ctrl-A for that reason).
set -e
pkg=${1:?usage: scripts/qemu.sh PACKAGE [qemu args...]}
shift
exec qemu-system-aarch64 \
	-M virt,virtualization=on,gic-version=3 \
	-cpu max,pauth-impdef=on \
	-smp "${QEMU_SMP:-4}" -m "${QEMU_MEM:-2G}" \
	-nographic -echr 0x1d \
	-kernel "${BULKHEAD:-build/bulkhead.bin}" \
	-initrd "$pkg" \
	"$@"
