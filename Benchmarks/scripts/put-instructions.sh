#!/bin/sh
# Instructions the writer agent spends on one durable PUT, counted by callgrind (user
# space, every thread): repeatable where wall-clock rates on a shared machine are not.
# A writer with a data directory and a peer joined to it; PUTS writes from 16
# keep-alive clients after a warm-up, the count zeroed before and dumped after.
# Usage: Benchmarks/scripts/put-instructions.sh [hearsay binary] (default: the release build)
set -eu
binary=${1:-.build/release/hearsay}
puts=${PUTS:-2000}
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install valgrind)"; exit 1; }
work=$(mktemp -d)
trap 'kill $writer $peer 2> /dev/null || true; wait 2> /dev/null || true; rm -rf "$work"' EXIT
key=$(head -c 32 /dev/urandom | base64)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wg=$(port); wh=$(port); pg=$(port); ph=$(port)
# Valgrind's reader gives up on the release build's debug info; the symbols are enough.
objcopy --strip-debug "$binary" "$work/hearsay"
valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" --collect-atstart=yes \
    "$work/hearsay" agent --name writer --bind 127.0.0.1:$wg --http 127.0.0.1:$wh --key "$key" \
    --data-dir "$work/writer" --log-level warning > "$work/writer.log" 2>&1 &
writer=$!
"$binary" agent --name peer --bind 127.0.0.1:$pg --http 127.0.0.1:$ph --key "$key" \
    --data-dir "$work/peer" --join 127.0.0.1:$wg --log-level warning > "$work/peer.log" 2>&1 &
peer=$!
python3 - "$wh" "$puts" "$work/callgrind.out" << 'PY'
import socket, subprocess, sys, threading, time
port, puts = int(sys.argv[1]), int(sys.argv[2])
def ready():
    for _ in range(600):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: h\r\n\r\n")
            if b" 200 " in s.recv(4096): return
        except OSError: pass
        time.sleep(0.5)
    sys.exit("the writer did not become ready")
def load(client, count):
    s = socket.create_connection(("127.0.0.1", port))
    for n in range(count):
        body = b'{"value":{"client":%d,"n":%d}}' % (client, n)
        s.sendall(b"PUT /v1/metadata/bench/%d/%d HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (client, n % 100, len(body), body))
        answer = b""
        while b"\r\n\r\n" not in answer: answer += s.recv(65536)
        head, _, rest = answer.partition(b"\r\n\r\n")
        length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
        while len(rest) < length: rest += s.recv(65536)
        assert head.startswith(b"HTTP/1.1 200"), head
def run(total):
    threads = [threading.Thread(target=load, args=(c, total // 16)) for c in range(16)]
    for t in threads: t.start()
    for t in threads: t.join()
ready()
time.sleep(3)
run(320)
subprocess.run(["callgrind_control", "-z"], check=True, capture_output=True)
run(puts)
subprocess.run(["callgrind_control", "-d"], check=True, capture_output=True)
PY
sleep 1
dump=$(ls "$work"/callgrind.out.* | tail -1)
total=$(callgrind_annotate "$dump" 2> /dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
echo "instructions per durable PUT (writer, $puts PUTs from 16 clients, a peer joined): $((total / puts))"
if [ -n "${KEEP:-}" ]; then cp "$dump" "$KEEP"; fi
if [ -n "${TOP:-}" ]; then callgrind_annotate --inclusive=yes "$dump" 2> /dev/null | head -${TOP}; fi
