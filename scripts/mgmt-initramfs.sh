#!/bin/sh
# Makes the management VM's initramfs, build/linux/mgmt-initramfs.cpio.gz: the normal guest
# initramfs (build/linux/initramfs.cpio.gz, by fetch-linux.sh, which calls this) followed by a
# second gzip'd cpio archive (the kernel unpacks concatenated archives in order) holding
#     /usr/bin/bhctl         the static arm64 build of tools/bhctl
#     /usr/bin/dtc           Debian's arm64 device-tree-compiler, with the libraries it needs
#                            (libyaml-0-2, libc6; libfdt is linked in) and the dynamic loader
#     /guests/               what the management VM can create: linux/Image and
#                            linux/initramfs.cpio.gz, demo.bin, ticker.bin, scrub.bin, and the example
#                            configurations linux.dts, linux-disk.dts, demo.dts, ticker.dts, scrub.dts
#                            (linux/mgmt/)
# The .debs stay in cache/debs, unpacked once into cache/root-dtc-<version>. Rebuilds only when
# an input is newer than the output. The result is about 25 MiB: the VM needs ~512 MiB of RAM.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CACHE=$ROOT/cache
DEBS=$CACHE/debs
OUT=$ROOT/build/linux
MGMT=$OUT/mgmt-initramfs.cpio.gz
BASE=$OUT/initramfs.cpio.gz
BHCTL=build/tools/bhctl-arm64
GUESTS="demo ticker scrub"
DTC_DEBS="device-tree-compiler libyaml-0-2 libc6" # dtc links libfdt statically

say() { echo "mgmt-initramfs: $*"; }
die() { echo "mgmt-initramfs: error: $*" >&2; exit 1; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

[ -f "$BASE" ] && [ -f "$OUT/Image" ] || die "run scripts/fetch-linux.sh first (no $BASE)"
make -s "$BHCTL" $(for g in $GUESTS; do echo "build/guests/$g.bin"; done)

# ---- dtc for arm64 and its libraries, from Debian's archive ----
have_debs() {
	for p in $DTC_DEBS; do
		ls "$DEBS"/"${p}"_*_arm64.deb >/dev/null 2>&1 || return 1
	done
}
mkdir -p "$DEBS"
if ! have_debs; then
	say "downloading$(for p in $DTC_DEBS; do printf ' %s:arm64' "$p"; done) into cache/debs/"
	dl() { (cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root \
		$(for p in $DTC_DEBS; do echo "$p:arm64"; done)); }
	if ! dl; then
		$SUDO apt-get update -qq
		dl || die "apt-get download failed"
	fi
fi
ddeb=$(ls -t "$DEBS"/device-tree-compiler_*_arm64.deb | head -1)
D=$CACHE/root-dtc-$(basename "$ddeb" .deb)
if [ ! -f "$D/.done" ]; then
	say "unpacking dtc and its libraries into cache/$(basename "$D")"
	rm -rf "$D"
	mkdir -p "$D"
	for p in $DTC_DEBS; do
		dpkg -x "$(ls -t "$DEBS"/"${p}"_*_arm64.deb | head -1)" "$D"
	done
	touch "$D/.done"
fi
[ -x "$D/usr/bin/dtc" ] || die "no /usr/bin/dtc in $ddeb"

# ---- up to date? ----
inputs="$BASE $OUT/Image $BHCTL $D/.done scripts/mgmt-initramfs.sh linux/mgmt/*.dts"
for g in $GUESTS; do inputs="$inputs build/guests/$g.bin"; done
fresh=1
[ -f "$MGMT" ] || fresh=""
for f in $inputs; do
	[ -z "$fresh" ] || [ ! "$f" -nt "$MGMT" ] || fresh=""
done
[ -z "$fresh" ] || exit 0

# ---- the extra archive ----
S=$OUT/mgmt.d
rm -rf "$S"
mkdir -p "$S/usr/bin" "$S/lib/aarch64-linux-gnu" "$S/guests/linux"
cp "$BHCTL" "$S/usr/bin/bhctl"
aarch64-linux-gnu-strip "$S/usr/bin/bhctl"
cp "$D/usr/bin/dtc" "$S/usr/bin/dtc"
# The libraries dtc needs (and theirs), by DT_NEEDED, from the unpacked packages.
needed() { aarch64-linux-gnu-readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
todo=$(needed "$D/usr/bin/dtc")
done_libs=""
while [ -n "$todo" ]; do
	set -- $todo
	lib=$1
	shift
	todo="$*"
	case " $done_libs " in *" $lib "*) continue ;; esac
	src=$(find "$D/lib" "$D/usr/lib" -name "$lib" 2>/dev/null | head -1)
	[ -n "$src" ] || die "dtc needs $lib, which no unpacked package has"
	cp -L "$src" "$S/lib/aarch64-linux-gnu/$lib"
	done_libs="$done_libs $lib"
	todo="$todo $(needed "$S/lib/aarch64-linux-gnu/$lib")"
done
interp=$(aarch64-linux-gnu-readelf -l "$D/usr/bin/dtc" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
[ -n "$interp" ] || die "dtc has no program interpreter"
mkdir -p "$S$(dirname "$interp")"
cp -L "$D$interp" "$S$interp"
cp "$OUT/Image" "$BASE" "$S/guests/linux/"
for g in $GUESTS; do cp "build/guests/$g.bin" "$S/guests/"; done
cp linux/mgmt/*.dts "$S/guests/"
chmod 755 "$S/usr/bin/"* "$S$interp"
(cd "$S" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -6 >"$OUT/mgmt-extra.cpio.gz"
cat "$BASE" "$OUT/mgmt-extra.cpio.gz" >"$MGMT.tmp"
mv "$MGMT.tmp" "$MGMT"
rm -rf "$S" "$OUT/mgmt-extra.cpio.gz"
say "build/linux/mgmt-initramfs.cpio.gz: the guest initramfs + bhctl, dtc ($done_libs )," \
	"/guests ($(($(wc -c <"$MGMT") / 1048576)) MiB)"
