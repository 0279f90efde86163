#!/bin/bash
# Sets up and runs every test: host unit tests (ASan + UBSan), then the QEMU integration
# tests (bare-metal guests and Debian's Linux under Bulkhead). Ends with one line "total: N passed, N failed" and
# exits non-zero if anything failed.
set -o pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1
start=$(date +%s)
make -s all || { echo "total: 0 passed, 1 failed"; exit 1; }
# Debian's arm64 kernel + busybox initramfs for the Linux guests (cached after the first run).
scripts/fetch-linux.sh || { echo "total: 0 passed, 1 failed"; exit 1; }

unit_log=build/unit.log
make -s unit 2>&1 | tee "$unit_log"
unit_rc=$?
read -r up uf < <(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$unit_log" | tail -1)
up=${up:-0}
uf=${uf:-0}
[ "$unit_rc" -ne 0 ] && [ "$uf" -eq 0 ] && uf=1

int_log=build/integration.log
BH_REQUIRE_LINUX=1 /usr/bin/python3 -m pytest -v -p no:cacheprovider tests/integration 2>&1 |
	tee "$int_log"
int_rc=$?
summary=$(tail -1 "$int_log")
count() { # count WORD-REGEX: sums the numbers before matching words in pytest's summary
	echo "$summary" | awk -v w="$1" '{for (i = 1; i < NF; i++) if ($(i + 1) ~ w) s += $i}
		END {print s + 0}'
}
ip=$(count '^passed')
if_=$(count '^(failed|error)')
ip=${ip:-0}
if_=${if_:-0}
[ "$int_rc" -ne 0 ] && [ "$if_" -eq 0 ] && if_=1

echo "unit: $up passed, $uf failed; integration: $ip passed, $if_ failed; $(( $(date +%s) - start )) s"
echo "total: $((up + ip)) passed, $((uf + if_)) failed"
[ "$uf" -eq 0 ] && [ "$if_" -eq 0 ]
