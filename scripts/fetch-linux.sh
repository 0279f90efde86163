#!/bin/sh
# Fetches Debian 12's arm64 kernel and busybox-static from Debian's archive and makes the Linux
# guest Bulkhead's tests boot:
#     build/linux/Image               the kernel: Debian's arm64 Image (raw, with its header)
#     build/linux/initramfs.cpio.gz   busybox-static, linux/init, and the modules virtio_mmio,
#                                     virtio_blk, virtio_net, virtio_console, ext4 and
#                                     crc32c_generic (ext4 needs it) with their dependencies and
#                                     a modules.dep for modprobe (not loaded), and gpio_keys and
#                                     evdev (the power button; init loads them)
#     build/linux/mgmt-initramfs.cpio.gz  the management VM's: the above plus bhctl, dtc and
#                                     /guests (scripts/mgmt-initramfs.sh, called at the end)
# Nothing is compiled; downloads stay in cache/ (ignored by git). Idempotent: a second run
# downloads nothing and rebuilds only outputs older than their inputs. Needs root (or sudo)
# the first time: it adds the arm64 architecture to dpkg and installs cpio and kmod (depmod)
# if they are missing.
# Environment: LINUX_PKG=linux-image-6.1.0-NN-arm64 picks the kernel package instead of the one
# linux-image-arm64 depends on.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CACHE=$ROOT/cache
DEBS=$CACHE/debs
OUT=$ROOT/build/linux
MODULES="virtio_mmio virtio_blk virtio_net virtio_console ext4 crc32c_generic gpio_keys evdev"

say() { echo "fetch-linux: $*"; }
die() { echo "fetch-linux: error: $*" >&2; exit 1; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

# ---- host tools ----
missing=""
command -v cpio >/dev/null || missing="$missing cpio"
command -v gzip >/dev/null || missing="$missing gzip"
command -v depmod >/dev/null || [ -x /usr/sbin/depmod ] || [ -x /sbin/depmod ] ||
	missing="$missing kmod"
if [ -n "$missing" ]; then
	say "installing$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
PATH=$PATH:/usr/sbin:/sbin

# ---- the two packages ----
mkdir -p "$DEBS"
# the newest download of each (ls -t: version numbers do not sort as text)
kdeb=$(ls -t "$DEBS"/linux-image-*-arm64_*_arm64.deb 2>/dev/null | head -1 || true)
bdeb=$(ls -t "$DEBS"/busybox-static_*_arm64.deb 2>/dev/null | head -1 || true)
if [ -n "${LINUX_PKG:-}" ] && [ -n "$kdeb" ] && ! basename "$kdeb" | grep -q "^${LINUX_PKG}_"; then
	kdeb=""
fi
if [ -z "$kdeb" ] || [ -z "$bdeb" ]; then
	updated=""
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		say "adding the arm64 architecture to dpkg"
		$SUDO dpkg --add-architecture arm64
		$SUDO apt-get update -qq
		updated=1
	fi
	if [ -z "$updated" ] && ! apt-cache show linux-image-arm64:arm64 >/dev/null 2>&1; then
		$SUDO apt-get update -qq
		updated=1
	fi
	pkg=${LINUX_PKG:-$(apt-cache depends linux-image-arm64:arm64 |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*-arm64\)\(:arm64\)\{0,1\}$/\1/p' | head -1)}
	[ -n "$pkg" ] || die "cannot resolve the kernel package linux-image-arm64:arm64 depends on"
	say "downloading $pkg:arm64 and busybox-static:arm64 into cache/debs/"
	dl() {
		(cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root "$@")
	}
	if ! dl "$pkg:arm64" busybox-static:arm64; then
		[ -z "$updated" ] || die "apt-get download failed"
		say "download failed; updating the package lists and retrying"
		$SUDO apt-get update -qq
		dl "$pkg:arm64" busybox-static:arm64 || die "apt-get download failed"
	fi
	kdeb=$(ls -t "$DEBS"/"$pkg"_*_arm64.deb | head -1)
	bdeb=$(ls -t "$DEBS"/busybox-static_*_arm64.deb | head -1)
fi

# ---- unpacked once into cache/root-<package version> ----
kname=$(basename "$kdeb" .deb)
X=$CACHE/root-$kname
if [ ! -f "$X/.done" ]; then
	say "unpacking $(basename "$kdeb") and $(basename "$bdeb")"
	rm -rf "$X"
	mkdir -p "$X"
	dpkg -x "$kdeb" "$X"
	dpkg -x "$bdeb" "$X"
	touch "$X/.done"
fi
KV=$(ls "$X/lib/modules" | head -1)
[ -n "$KV" ] && [ -f "$X/boot/vmlinuz-$KV" ] || die "no kernel in $kdeb"
[ -x "$X/bin/busybox" ] || die "no busybox in $bdeb"
MD=$X/lib/modules/$KV
if [ ! -f "$MD/modules.dep" ]; then
	# Debian's package has no modules.dep (its postinst runs depmod); make one for the
	# dependency closure below. depmod reads arm64 modules fine on any host.
	depmod -b "$X" "$KV"
fi

# ---- build/linux/Image ----
mkdir -p "$OUT"
# Which packages build/linux/ was made from: another pair rebuilds everything.
source="$(basename "$kdeb") $(basename "$bdeb")"
[ "$(cat "$OUT/.source" 2>/dev/null)" = "$source" ] || rm -f "$OUT/Image" "$OUT/initramfs.cpio.gz"
vmlinuz=$X/boot/vmlinuz-$KV
if [ ! -f "$OUT/Image" ]; then
	case $(od -An -tx1 -N2 "$vmlinuz" | tr -d ' ') in
	1f8b) gzip -dc "$vmlinuz" >"$OUT/Image.tmp" ;; # compressed (not Debian 12's case)
	*) cp "$vmlinuz" "$OUT/Image.tmp" ;;
	esac
	magic=$(dd if="$OUT/Image.tmp" bs=1 skip=56 count=4 2>/dev/null | od -An -c | tr -d ' ')
	[ "$magic" = 'ARMd' ] || die "$vmlinuz is not an arm64 Image (no ARM\\x64 magic at 0x38)"
	mv "$OUT/Image.tmp" "$OUT/Image"
	say "build/linux/Image: $KV ($(($(wc -c <"$OUT/Image") / 1048576)) MiB)"
fi

# ---- build/linux/initramfs.cpio.gz ----
INITRD=$OUT/initramfs.cpio.gz
if [ ! -f "$INITRD" ] || [ linux/init -nt "$INITRD" ] || [ scripts/fetch-linux.sh -nt "$INITRD" ]; then
	S=$OUT/initramfs.d
	rm -rf "$S"
	mkdir -p "$S/bin" "$S/dev" "$S/proc" "$S/sys" "$S/tmp" "$S/root" "$S/etc" "$S/lib/modules/$KV"
	cp "$X/bin/busybox" "$S/bin/busybox"
	cp linux/init "$S/init"
	chmod 755 "$S/init" "$S/bin/busybox"
	# /dev/console for the kernel to open before /init runs (needs root; the kernel's
	# built-in initramfs has one too).
	mknod -m 600 "$S/dev/console" c 5 1 2>/dev/null || true
	# The modules and everything they depend on, from the full tree's modules.dep.
	files=""
	for m in $MODULES; do
		line=$(grep -E "(^|/)$m\.ko(\.[a-z]+)?:" "$MD/modules.dep") ||
			die "module $m not in $KV's modules.dep"
		files="$files $(echo "$line" | tr -d ':')"
	done
	for f in $(echo "$files" | tr ' ' '\n' | sort -u); do
		mkdir -p "$S/lib/modules/$KV/$(dirname "$f")"
		cp "$MD/$f" "$S/lib/modules/$KV/$f"
	done
	cp "$MD/modules.builtin" "$MD/modules.builtin.modinfo" "$S/lib/modules/$KV/"
	(cd "$S/lib/modules/$KV" && find kernel -name '*.ko*' | sort) >"$S/lib/modules/$KV/modules.order"
	depmod -b "$S" "$KV"
	(cd "$S" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
		gzip -9 >"$INITRD.tmp"
	mv "$INITRD.tmp" "$INITRD"
	rm -rf "$S"
	say "build/linux/initramfs.cpio.gz: busybox, /init, modules:" \
		"$(echo "$files" | tr ' ' '\n' | sed -n 's|.*/\([^/]*\)\.ko.*|\1|p' | sort -u | tr '\n' ' ')" \
		"($(($(wc -c <"$INITRD") / 1024)) KiB)"
fi
[ "$(cat "$OUT/VERSION" 2>/dev/null)" = "$KV" ] || echo "$KV" >"$OUT/VERSION"
[ "$(cat "$OUT/.source" 2>/dev/null)" = "$source" ] || echo "$source" >"$OUT/.source"

# ---- the management VM's initramfs ----
scripts/mgmt-initramfs.sh
