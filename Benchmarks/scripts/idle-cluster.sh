#!/usr/bin/env bash
# Idle footprint of a release `hearsay agent` in a 16-node cluster on loopback:
# resident memory and CPU per node, measured from /proc after the cluster settles.
# Usage: Benchmarks/scripts/idle-cluster.sh [NODES] [SETTLE_SECONDS] [MEASURE_SECONDS]
# Prints figures and the ratio to the targets (13 MB, serf's idle agent; 1% of a core).
set -euo pipefail
NODES=${1:-16}
SETTLE=${2:-30}
MEASURE=${3:-60}
BIN=${HEARSAY_BINARY:-.build/release/hearsay}
if [ ! -x "$BIN" ]; then
  echo "build first: swift build -c release --static-swift-stdlib --product hearsay" >&2
  exit 1
fi
DIR=$(mktemp -d /tmp/hearsay-idle.XXXXXX)
KEY=$("$BIN" keygen)
# Below the ephemeral range (32768 up), so no outgoing connection holds one of these ports.
BASE=$((10000 + RANDOM % 20000))
pids=()
cleanup() { kill -9 "${pids[@]}" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
for i in $(seq 0 $((NODES - 1))); do
  gossip=$((BASE + 2 * i)); http=$((BASE + 2 * i + 1))
  join=(); [ "$i" -gt 0 ] && join=(--join "127.0.0.1:$BASE")
  "$BIN" agent --name "idle-$i" --bind "127.0.0.1:$gossip" --http "127.0.0.1:$http" --key "$KEY" \
    --data-dir "$DIR/n$i" "${join[@]}" > "$DIR/n$i.log" 2>&1 &
  pids+=($!)
  disown $!
done
sleep "$SETTLE"
alive=$(curl -s "127.0.0.1:$((BASE + 1))/v1/members" | grep -o '"state": "alive"' | wc -l)
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A start
for p in "${pids[@]}"; do start[$p]=$(cpu "$p"); done
sleep "$MEASURE"
total_rss=0; max_rss=0; total_cpu=0; max_cpu=0
for p in "${pids[@]}"; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$p/status")
  used=$(( $(cpu "$p") - ${start[$p]} ))
  total_rss=$((total_rss + rss)); [ "$rss" -gt "$max_rss" ] && max_rss=$rss
  total_cpu=$((total_cpu + used)); [ "$used" -gt "$max_cpu" ] && max_cpu=$used
done
awk -v n="$NODES" -v alive="$alive" -v tr="$total_rss" -v mr="$max_rss" -v tc="$total_cpu" -v mc="$max_cpu" \
    -v t="$ticks" -v m="$MEASURE" 'BEGIN {
  avg_mb = tr / n / 1024; max_mb = mr / 1024
  avg_cpu = 100 * tc / n / t / m; max_cpu = 100 * mc / t / m
  printf "idle cluster: %d nodes, %d alive in node 0'"'"'s view, measured over %d s\n", n, alive, m
  printf "resident memory per node: mean %.1f MB, max %.1f MB (target <= 13 MB: ratio %.2f)\n", avg_mb, max_mb, max_mb / 13
  printf "CPU per node: mean %.2f%%, max %.2f%% of a core (target < 1%%: ratio %.2f)\n", avg_cpu, max_cpu, max_cpu / 1
}'
# Where one node's resident memory goes, from its mappings: the executable's pages, libcrypto,
# the other shared libraries, and anonymous memory (heap, stacks, relocated data).
awk -v bin="$(basename "$BIN")" '
  /^[0-9a-f]+-[0-9a-f]+ / { name = $6; n = split(name, parts, "/"); base = parts[n] }
  /^Rss:/ { rss = $2 }
  /^Anonymous:/ {
    anon += $2; file = rss - $2
    if (base == bin) exe += file; else if (base ~ /^libcrypto/) crypto += file; else lib += file
  }
  END { printf "node 0 resident: executable %.1f MB, libcrypto %.1f MB, other libraries %.1f MB, anonymous %.1f MB\n",
        exe / 1024, crypto / 1024, lib / 1024, anon / 1024 }' "/proc/${pids[0]}/smaps"

