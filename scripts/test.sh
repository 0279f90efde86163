#!/bin/bash
# Sets up and runs every test: host unit tests (ASan + UBSan), bhctl's host tests (against a
# fake hypervisor on a pty, tests/tools), then the QEMU integration tests (bare-metal guests and Debian's Linux under Bulkhead). Ends with one line "total: N passed, N failed" and
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

count() { # count LOG WORD-REGEX: sums the numbers before matching words in pytest's summary
	tail -1 "$1" | awk -v w="$2" '{for (i = 1; i < NF; i++) if ($(i + 1) ~ w) s += $i}
		END {print s + 0}'
}

# bhctl against a fake hypervisor (no QEMU).
tools_log=build/tools.log
/usr/bin/python3 -m pytest -v -p no:cacheprovider tests/tools 2>&1 | tee "$tools_log"
tools_rc=$?
tp=$(count "$tools_log" '^passed')
tf=$(count "$tools_log" '^(failed|error)')
[ "$tools_rc" -ne 0 ] && [ "$tf" -eq 0 ] && tf=1

int_log=build/integration.log
BH_REQUIRE_LINUX=1 /usr/bin/python3 -m pytest -v -p no:cacheprovider tests/integration 2>&1 |
	tee "$int_log"
int_rc=$?
ip=$(count "$int_log" '^passed')
if_=$(count "$int_log" '^(failed|error)')
[ "$int_rc" -ne 0 ] && [ "$if_" -eq 0 ] && if_=1

echo "unit: $up passed, $uf failed; bhctl: $tp passed, $tf failed;" \
	"integration: $ip passed, $if_ failed; $(( $(date +%s) - start )) s"
echo "total: $((up + tp + ip)) passed, $((uf + tf + if_)) failed"
[ "$uf" -eq 0 ] && [ "$tf" -eq 0 ] && [ "$if_" -eq 0 ]
