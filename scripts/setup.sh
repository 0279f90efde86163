#!/bin/sh
# Installs what building, running and testing Bulkhead needs on Debian 12 (as root, or with
# sudo). Installs only what is missing, so it is quick once done.
set -e
PKGS="make gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu \
qemu-system-arm \
device-tree-compiler python3 python3-pytest \
cpio kmod e2fsprogs"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "setup: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
