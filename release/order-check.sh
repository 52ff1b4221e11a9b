#!/usr/bin/env bash
# Fails when release/hearsay.order no longer fits the code: fewer than MIN_PERCENT (90)
# of the functions it names are defined in BINARY, as happens after a rename or a
# refactor of the code an agent runs. The linker skips names it does not find, silently,
# and the agent's code is then scattered again (more resident memory): `make
# order-file` rewrites it. `make release` and the image build run this check.
# Usage: release/order-check.sh BINARY   (BINARY with its symbol table: before strip)
set -euo pipefail
BIN=${1:?usage: release/order-check.sh BINARY}
root=$(cd "$(dirname "$0")/.." && pwd)
ORDER=$root/release/hearsay.order
MIN_PERCENT=${MIN_PERCENT:-90}
# The binary's function names; the file's names that are among them.
found=$(nm --defined-only "$BIN" | awk '$2 ~ /^[tTwW]$/ { print $3 }' |
  awk 'FNR == NR { defined[$1] = 1; next } NF { total++; if ($1 in defined) found++ } END { print found + 0, total + 0 }' - "$ORDER")
read -r present total <<< "$found"
[ "$total" -gt 0 ] || { echo "order-check: $ORDER names no function" >&2; exit 1; }
percent=$((100 * present / total))
echo "order file: $present of $total functions it names are in $BIN ($percent %)"
if [ "$percent" -lt "$MIN_PERCENT" ]; then
  echo "order-check: release/hearsay.order is stale (under $MIN_PERCENT % of its names exist): run make order-file and commit it" >&2
  exit 1
fi
