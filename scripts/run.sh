#!/bin/sh
# The main job: set up, build, and boot Bulkhead with the default system (configs/default.dts)
# in QEMU on this terminal. Ctrl-A three times switches keyboard input between VMs;
# Ctrl-] then x quits QEMU. Another system: scripts/run.sh path/to/system.dts
set -e
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ -n "$1" ]; then
	scripts/fetch-linux.sh # Debian's kernel for configs that boot Linux (cached after once)
	make -s all
	build/tools/bhpack -I build -o build/custom.pkg "$1"
	exec scripts/qemu.sh build/custom.pkg
fi
make -s all
exec scripts/qemu.sh build/default.pkg
