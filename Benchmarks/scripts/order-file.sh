#!/usr/bin/env bash
# Writes release/hearsay.order: the functions a release agent runs while it starts, joins,
# gossips, serves its API, sees a member fail and leaves, as callgrind sees them.
# `make release` links them side by side at the front of the executable's code. Code
# pages are mapped 64 KiB at a time around each first touch (the kernel's fault-around),
# so an agent whose few thousand functions lie scattered through 14 MB of code holds most
# of it resident; gathered, they fill a few hundred pages (docs/benchmarks.md).
# Usage: Benchmarks/scripts/order-file.sh [BINARY]  (needs valgrind; `make order-file`)
# KEEP=1 keeps the working directory (logs, callgrind output) for a look.
set -euo pipefail
BIN=${1:-.build/release/hearsay}
OUT=release/hearsay.order
command -v valgrind > /dev/null || { echo "order-file: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "order-file: build first (make release)" >&2; exit 1; }
DIR=$(mktemp -d /tmp/hearsay-order.XXXXXX)
pids=()
cleanup() { kill -9 "${pids[@]}" 2> /dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$DIR"; }
trap cleanup EXIT
# Valgrind cannot read the DWARF that lld writes; the symbol table is all it needs.
objcopy --strip-debug "$BIN" "$DIR/hearsay"
KEY=$("$DIR/hearsay" keygen)
# Below the ephemeral port range, so no outgoing connection holds one of these ports.
BASE=$((10000 + RANDOM % 20000))
agent() { # name index [extra...]
  local name=$1 index=$2
  shift 2
  echo agent --name "$name" --bind "127.0.0.1:$((BASE + 2 * index))" --http "127.0.0.1:$((BASE + 2 * index + 1))" \
    --key "$KEY" --data-dir "$DIR/$name" --probe-interval 1s --gossip-interval 2s "$@"
}
quiet() { curl -s -o /dev/null --max-time 10 "$@" || true; }
"$DIR/hearsay" $(agent seed 0) > "$DIR/seed.log" 2>&1 &
pids+=($!)
disown $!
valgrind --tool=callgrind --demangle=no --dump-instr=no --callgrind-out-file="$DIR/callgrind.out" \
  "$DIR/hearsay" $(agent traced 1 --join "127.0.0.1:$BASE") > "$DIR/traced.log" 2>&1 &
traced=$!
pids+=($traced)
api="127.0.0.1:$((BASE + 3))"
# Under valgrind the agent starts in seconds, not milliseconds.
for _ in $(seq 120); do curl -sf -o /dev/null "http://$api/healthz" && break; sleep 0.5; done
sleep 10
"$DIR/hearsay" $(agent third 2 --join "127.0.0.1:$BASE") > "$DIR/third.log" 2>&1 &
third=$!
pids+=($third)
disown $third
sleep 5
for round in 1 2 3; do
  for path in /metrics /healthz /readyz /v1/members /v1/state /v1/stats /v1/metadata; do quiet "http://$api$path"; done
  quiet -X PUT "http://$api/v1/metadata/order/traced-$round" -d '{"value": {"round": '$round'}}'
  quiet -X PUT "http://127.0.0.1:$((BASE + 1))/v1/metadata/order/seed-$round" -d '{"value": "x"}'
  quiet "http://$api/v1/metadata/order/seed-$round"
  sleep 10
done
kill -9 "$third" || true # the third node fails: suspicion and failure paths
sleep 15
kill -TERM "$traced" # and the traced agent leaves gracefully
wait "$traced" || true
# lld moves every input section that defines a listed name. A name in one of the
# prebuilt libraries' undivided code sections (the regex parser's 476 KiB, for one) would
# move all of that code, so such names are left out (the standard library's code, which
# runs from end to end, is the exception): MAP is the link map `make release`
# writes, which says where each name is defined. Without a map every name defined more
# than once (local helpers every module has a copy of) is left out instead.
MAP=${MAP:-.build/hearsay.map}
nm --defined-only "$DIR/hearsay" | awk '$2 ~ /^[tTwW]$/ { print $1, $3 }' > "$DIR/all-symbols"
if [ -f "$MAP" ]; then
  awk '
    NF >= 5 && index($0, ":(") { i = index($0, ":("); name = substr($0, i + 2, length($0) - i - 2)
      # A plain .text of 64 KiB or more, except the standard library code: hot end to end.
      undivided = (name == ".text" && length($3) >= 5 && index($0, "libswiftCore.a(Swift.o)") == 0); next }
    NF == 5 && $1 ~ /^[0-9a-f]+$/ && undivided { print $5 }' "$MAP" > "$DIR/excluded"
else
  awk '{ count[$2]++ } END { for (name in count) if (count[name] > 1) print name }' "$DIR/all-symbols" > "$DIR/excluded"
fi
awk 'FNR == NR { excluded[$1] = 1; next } !($2 in excluded)' "$DIR/excluded" "$DIR/all-symbols" > "$DIR/symbols"
# Every function of the executable that callgrind saw run, in its order in the executable,
# so that code that was near stays near. Callgrind names an id once, on whichever line
# first mentions it: ob=/fn= (the current object and function) or cob=/cfn= (a call's
# target); later lines give the id alone. Recursion adds a 'N suffix to a name.
awk -v exe="$DIR/hearsay" -v quote="'" '
  FNR == NR { address[$2] = $1; byAddress["0x" $1] = $2; next }
  /^c?(ob|fn)=\(/ {
    kind = substr($0, 1, index($0, "=") - 1)
    rest = substr($0, index($0, "(") + 1)
    id = substr(rest, 1, index(rest, ")") - 1)
    label = substr(rest, index(rest, ")") + 2)
    if (label != "") { if (kind ~ /ob$/) objects[id] = label; else names[id] = label }
  }
  /^ob=/ { inExe = (objects[id] == exe); next }
  /^fn=/ && inExe {
    name = names[id]
    cut = index(name, quote); if (cut > 0) name = substr(name, 1, cut - 1)
    if (!(name in address)) name = byAddress[name]
    if (name != "" && !(name in seen)) { seen[name] = 1; print address[name], name }
  }' "$DIR/symbols" "$DIR/callgrind.out" | sort | cut -d" " -f2 > "$OUT"
echo "order-file: $(wc -l < "$OUT") functions written to $OUT"
