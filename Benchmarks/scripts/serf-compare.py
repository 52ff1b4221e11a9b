#!/usr/bin/env python3
"""Hearsay against HashiCorp serf (Debian's package), side by side in one run.

Usage: Benchmarks/scripts/serf-compare.py [N ...]   (default: 16 64)

Both run memberlist's LAN profile: probe every 1 s with a 500 ms timeout, gossip every
200 ms to 3 members, suspicion multiplier 4; both accept only messages from key holders
(serf with -encrypt, its only such mode; Hearsay signs every frame). For each N it starts N serf agents, then N
release Hearsay agents, each agent in a network namespace of its own on one bridge (the
fault harness's lab, Tests/Faults/lab.py) and run as `nobody`, and prints one table with
both and the ratio:

- join: from the start of the last N - 1 agents (the seed listens first, since serf gives
  up when its -join finds nobody) until the first and the last agent list all N alive.
- idle resident memory and CPU per agent, from /proc, and bytes sent per second per agent,
  from each namespace's interface counters (nothing else talks meanwhile), over 30 s,
  35 s after the join (past Hearsay's catch-up exchanges).
- dissemination of 20 writes (one every 2 s, each at a random node), median and p99 of
  the time until the last node has it. serf: a user event with coalescing off, timed by
  each agent's event handler (a shell script that appends the time); measured from the
  origin's own handler run, so the handler's start-up cost falls on both ends. Hearsay:
  a PUT, and on every other node a blocking query (GET with index: the agent answers it
  when the write arrives), measured from the PUT's answer (the origin serves the value
  from then on) to each answer. Neither side polls.
- bytes per update per node: what the agents sent on their gossip port (iptables counters
  in each namespace, so the benchmark's own requests are left out) while the writes
  spread, less the idle rate over the same time, per write and per agent.
- failure detection: one agent killed with SIGKILL; the time until the first and the
  last live agent lists it as failed (members polled every 100 ms on every agent).

Namespaces need root; without it the agents run on loopback and the byte rows say n/a.
Figures are printed, never asserted. Run it through `make bench-serf`.
"""

import base64
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEARSAY = os.environ.get("HEARSAY_BINARY", os.path.join(ROOT, ".build", "release", "hearsay"))
SERF = shutil.which("serf") or "/usr/bin/serf"
WRITES = 20
SETTLE = 35
GOSSIP_PORT = 7946

sys.path.insert(0, os.path.join(ROOT, "Tests", "Faults"))
from lab import NOBODY, Lab, namespaces_available, run  # noqa: E402


class Loopback:
    """Every agent on 127.0.0.1, at ports of its own; no byte counters."""

    counts_bytes = False

    def __init__(self, n):
        self.base = 20000 + random.randrange(0, 8000) * 2
        self.hearsay = HEARSAY

    def ip(self, i):
        return "127.0.0.1"

    def ports(self, i):
        return self.base + 2 * i, self.base + 2 * i + 1

    def command(self, i, args):
        return args

    def close(self):
        pass


class Namespaces:
    """Agent i in namespace i of a lab, as `nobody`, at the same ports in each; counters
    of what each namespace sends, in all and on the gossip port."""

    counts_bytes = True

    # The kernel keeps one table of neighbours (ARP entries) for every namespace, 1024
    # entries at most by default: 64 agents that each talk to 63 others need 4032, and
    # past the limit packets to new neighbours are dropped ("neighbor table overflow").
    NEIGHBOUR_LIMITS = [f"net.ipv4.neigh.default.gc_thresh{i}" for i in (1, 2, 3)]

    def __init__(self, n):
        self.saved = {name: run("sysctl", "-n", name).strip() for name in self.NEIGHBOUR_LIMITS}
        needed = 2 * n * n + 1024
        for name, factor in zip(self.NEIGHBOUR_LIMITS, (1, 2, 4)):
            if int(self.saved[name]) < needed * factor:
                run("sysctl", "-q", "-w", f"{name}={needed * factor}")
        key = subprocess.run([HEARSAY, "keygen"], capture_output=True, text=True).stdout.strip()
        self.lab = Lab(n, HEARSAY, key)
        self.hearsay = self.lab.binary
        for agent in self.lab.agents:
            iptables = ["ip", "netns", "exec", agent.namespace, "iptables"]
            run(*iptables, "-N", "HSB")
            run(*iptables, "-A", "OUTPUT", "-j", "HSB")
            for protocol in ("udp", "tcp"):
                # No target: the rule only counts.
                run(*iptables, "-A", "HSB", "-p", protocol, "-m", "multiport", "--ports", str(GOSSIP_PORT))

    def ip(self, i):
        return self.lab.agents[i].ip

    def ports(self, i):
        return GOSSIP_PORT, GOSSIP_PORT + 1

    def command(self, i, args):
        return ["ip", "netns", "exec", self.lab.agents[i].namespace, "setpriv", f"--reuid={NOBODY}",
                f"--regid={NOBODY}", "--clear-groups", "--"] + args

    def sent(self):
        """Bytes each namespace sent through its interface."""
        totals = []
        for agent in self.lab.agents:
            links = json.loads(run("ip", "-n", agent.namespace, "-s", "-j", "link", "show", "eth0"))
            totals.append(links[0]["stats64"]["tx"]["bytes"])
        return totals

    def gossip_sent(self):
        """Bytes each namespace sent from or to the gossip port, IP headers included."""
        totals = []
        for agent in self.lab.agents:
            text = run("ip", "netns", "exec", agent.namespace, "iptables", "-L", "HSB", "-v", "-x", "-n")
            totals.append(sum(int(line.split()[1]) for line in text.splitlines()[2:] if line.split()))
        return totals

    def close(self):
        self.lab.close()
        # Highest first on the way back, so that each step keeps thresh1 <= thresh2 <= thresh3.
        for name in reversed(self.NEIGHBOUR_LIMITS):
            run("sysctl", "-q", "-w", f"{name}={self.saved[name]}", check=False)


def ticks():
    return os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks()


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wait(condition, timeout, interval=0.1):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def quantile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


class Serf:
    name = "serf"

    def __init__(self, n, directory, hosts):
        self.n = n
        self.hosts = hosts
        os.chmod(directory, 0o777)
        self.events = os.path.join(directory, "events")
        open(self.events, "w").close()
        os.chmod(self.events, 0o666)
        # Encrypted: serf's only mode in which a message must come from a key holder, as
        # every Hearsay frame must (signed with HMAC-SHA256); without it, serf sends 29
        # bytes less per packet (version, nonce and tag).
        key = base64.b64encode(os.urandom(32)).decode()
        handler = os.path.join(directory, "handler.sh")
        with open(handler, "w") as f:
            f.write('#!/bin/sh\nread payload\necho "$SERF_SELF_NAME $(date +%s.%N) $payload" >> ' + self.events + "\n")
        os.chmod(handler, 0o755)
        self.processes = []
        for i in range(n):
            if i == 1:
                # serf gives up when its -join finds nobody: the seed must listen first.
                wait(lambda: self.members(0), 30)
                self.joins_started = time.monotonic()
            gossip, rpc = hosts.ports(i)
            args = [SERF, "agent", f"-node=s{i}", f"-bind={hosts.ip(i)}:{gossip}",
                    f"-rpc-addr={hosts.ip(i)}:{rpc}", "-profile=lan", "-log-level=err",
                    f"-event-handler=user={handler}", f"-encrypt={key}"]
            if i:
                args.append(f"-join={hosts.ip(0)}:{hosts.ports(0)[0]}")
            log = open(os.path.join(directory, f"s{i}.log"), "w")
            self.processes.append(subprocess.Popen(hosts.command(i, args), stdout=log, stderr=subprocess.STDOUT))

    def rpc(self, i):
        return f"-rpc-addr={self.hosts.ip(i)}:{self.hosts.ports(i)[1]}"

    def members(self, i):
        try:
            out = subprocess.run([SERF, "members", self.rpc(i), "-format=json"], capture_output=True, text=True,
                                 timeout=5).stdout
            return {m["name"]: m["status"] for m in json.loads(out)["members"]}
        except (ValueError, KeyError, subprocess.TimeoutExpired):
            return {}

    def write(self, origin, n):
        """Sends the event; the times each node's handler saw it, by node."""
        tag = f"w{n}-{random.getrandbits(32)}"
        subprocess.run([SERF, "event", self.rpc(origin), "-coalesce=false", "bench", tag], capture_output=True)
        seen = {}

        def read():
            seen.clear()
            try:
                with open(self.events) as f:
                    for line in f:
                        parts = line.split()
                        if len(parts) == 3 and parts[2] == tag:
                            seen.setdefault(parts[0], float(parts[1]))
            except OSError:
                pass
            return len(seen) == len(self.live())

        wait(read, 30, 0.01)
        origin_time = seen.get(f"s{origin}")
        if origin_time is None or len(seen) < len(self.live()):
            return None
        return max(seen.values()) - origin_time

    def live(self):
        return [i for i, p in enumerate(self.processes) if p.poll() is None]

    def failed_as_seen_by(self, i, victim):
        return self.members(i).get(f"s{victim}") == "failed"

    def stop(self):
        for p in self.processes:
            if p.poll() is None:
                p.kill()
                p.wait()


class Hearsay:
    name = "Hearsay"

    def __init__(self, n, directory, hosts):
        self.n = n
        self.hosts = hosts
        os.chmod(directory, 0o755)
        key = subprocess.run([HEARSAY, "keygen"], capture_output=True, text=True).stdout.strip()
        self.processes = []
        for i in range(n):
            if i == 1:
                # As for serf: the seed listens before the others start.
                wait(lambda: self.members(0), 30)
                self.joins_started = time.monotonic()
            data = os.path.join(directory, f"h{i}")
            os.makedirs(data)
            if os.geteuid() == 0:
                os.chown(data, NOBODY, NOBODY)
            gossip, api = hosts.ports(i)
            args = [hosts.hearsay, "agent", "--name", f"h{i}", "--bind", f"{hosts.ip(i)}:{gossip}",
                    "--http", f"{hosts.ip(i)}:{api}", "--key", key,
                    "--probe-interval", "1s", "--probe-timeout", "500ms", "--gossip-nodes", "3",
                    "--data-dir", data, "--log-level", "error"]
            if i:
                args += ["--join", f"{hosts.ip(0)}:{hosts.ports(0)[0]}"]
            log = open(os.path.join(directory, f"h{i}.log"), "w")
            self.processes.append(subprocess.Popen(hosts.command(i, args), stdout=log, stderr=subprocess.STDOUT))

    def connect(self, i, timeout=5):
        return http.client.HTTPConnection(self.hosts.ip(i), self.hosts.ports(i)[1], timeout=timeout)

    def request(self, i, method, path, body=None, connection=None):
        """(status, body, X-Hearsay-Index)."""
        own = connection is None
        connection = connection or self.connect(i)
        try:
            connection.request(method, path, body=body)
            response = connection.getresponse()
            data = response.read()
            return response.status, data, int(response.getheader("X-Hearsay-Index") or 0)
        except OSError:
            return 0, b"", 0
        finally:
            if own:
                connection.close()

    def members(self, i):
        status, data, _ = self.request(i, "GET", "/v1/members")
        if status != 200:
            return {}
        return {m["name"]: m["state"] for m in json.loads(data)["members"]}

    def write(self, origin, n):
        address = f"bench/{n}-{random.getrandbits(32)}"
        found = {}
        readers = [i for i in self.live() if i != origin]
        parked = threading.Barrier(len(readers) + 1)

        def watch(i):
            # The entry's index now, then a query that the agent answers when it changes.
            connection = self.connect(i, timeout=35)
            try:
                _, _, index = self.request(i, "GET", f"/v1/metadata/{address}", connection=connection)
                parked.wait()
                while True:
                    status, _, index = self.request(i, "GET", f"/v1/metadata/{address}?index={index}&wait=30s",
                                                    connection=connection)
                    if status == 200:
                        found[i] = time.time()
                        return
                    if status == 0:
                        return
            except threading.BrokenBarrierError:
                pass
            finally:
                connection.close()

        threads = [threading.Thread(target=watch, args=(i,), daemon=True) for i in readers]
        for t in threads:
            t.start()
        try:
            parked.wait(timeout=30)
        except threading.BrokenBarrierError:
            return None
        # The queries are sent by now; give the agents a moment to read them.
        time.sleep(0.05)
        status, _, _ = self.request(origin, "PUT", f"/v1/metadata/{address}", body=json.dumps({"value": n}))
        answered = time.time()
        for t in threads:
            t.join(timeout=35)
        if status != 200 or len(found) < len(readers):
            return None
        return max(max(found.values()) - answered, 0.0)

    def live(self):
        return [i for i, p in enumerate(self.processes) if p.poll() is None]

    def failed_as_seen_by(self, i, victim):
        return self.members(i).get(f"h{victim}") == "failed"

    def stop(self):
        for p in self.processes:
            if p.poll() is None:
                p.kill()
                p.wait()


def measure(system, n, hosts):
    """The figures of a system whose agents were all started just now (the seed first)."""
    figures = {}
    names = {"serf": "s", "Hearsay": "h"}
    expected = {f"{names[system.name]}{i}": "alive" for i in range(n)}
    # From the start of the first joiner: starting 63 processes through `ip netns exec`
    # takes longer than the join itself.
    joined = wait(lambda: system.members(0) == expected and system.members(n - 1) == expected, 120, 0.02)
    figures["join_s"] = time.monotonic() - system.joins_started if joined else None
    # Past what follows a join (Hearsay's catch-up exchanges end 31 s after it), so that
    # idle is the steady state.
    time.sleep(SETTLE)
    pids = [p.pid for p in system.processes]
    before = {pid: cpu_seconds(pid) for pid in pids}
    sent = hosts.sent() if hosts.counts_bytes else None
    gossip = hosts.gossip_sent() if hosts.counts_bytes else None
    started = time.monotonic()
    time.sleep(30)
    idle = time.monotonic() - started
    if hosts.counts_bytes:
        figures["idle_bytes_per_s"] = sum(hosts.sent()) - sum(sent)
        figures["idle_bytes_per_s"] /= idle * n
        idle_gossip_rate = (sum(hosts.gossip_sent()) - sum(gossip)) / idle
    # The agents are the main process of each command (setpriv execs into them).
    figures["idle_cpu_pct"] = statistics.mean((cpu_seconds(pid) - before[pid]) / idle * 100 for pid in pids)
    figures["idle_rss_mb"] = statistics.mean(rss_mb(pid) for pid in pids)
    pick = random.Random(7)
    times = []
    gossip = hosts.gossip_sent() if hosts.counts_bytes else None
    started = time.monotonic()
    for w in range(WRITES):
        began = time.monotonic()
        took = system.write(pick.randrange(n), w)
        if took is not None:
            times.append(took)
        time.sleep(max(0.0, 2 - (time.monotonic() - began)))
    # The last write's retransmissions are spent by now (a few gossip ticks).
    time.sleep(3)
    if hosts.counts_bytes:
        spent = sum(hosts.gossip_sent()) - sum(gossip) - idle_gossip_rate * (time.monotonic() - started)
        figures["bytes_per_update"] = max(spent, 0) / WRITES / n
    figures["writes_timed"] = len(times)
    figures["spread_median_ms"] = statistics.median(times) * 1000 if times else None
    figures["spread_p99_ms"] = quantile(times, 0.99) * 1000 if times else None
    victim = n - 1
    system.processes[victim].send_signal(signal.SIGKILL)
    system.processes[victim].wait()
    killed = time.monotonic()
    first = last = None
    seen = set()
    observers = [i for i in range(n) if i != victim]
    while time.monotonic() - killed < 120 and len(seen) < len(observers):
        for i in observers:
            if i not in seen and system.failed_as_seen_by(i, victim):
                seen.add(i)
                at = time.monotonic() - killed
                first = first if first is not None else at
                last = at
        time.sleep(0.1)
    figures["detect_first_s"] = first
    figures["detect_last_s"] = last if len(seen) == len(observers) else None
    return figures


ROWS = [("join_s", "join: every member seen by the first and last agent", "s"),
        ("spread_median_ms", "write reaches every node, median", "ms"),
        ("spread_p99_ms", "write reaches every node, p99", "ms"),
        ("detect_first_s", "SIGKILL to first live node declaring it failed", "s"),
        ("detect_last_s", "SIGKILL to last live node declaring it failed", "s"),
        ("bytes_per_update", "bytes sent per update per node", "B"),
        ("idle_rss_mb", "idle resident memory per node", "MB"),
        ("idle_cpu_pct", "idle CPU per node", "%"),
        ("idle_bytes_per_s", "idle bytes sent per second per node", "B/s")]


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [16, 64]
    for tool in (SERF, HEARSAY):
        if not os.access(tool, os.X_OK):
            sys.exit(f"missing {tool} (make bench-serf installs serf and builds the release agent)")
    version = subprocess.run([SERF, "version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"serf: {version} (LAN profile, -encrypt); Hearsay: {HEARSAY}, --probe-interval 1s --probe-timeout 500ms "
          f"--gossip-nodes 3, 200 ms gossip tick, suspicion multiplier 4; {os.cpu_count()} cores")
    reason = namespaces_available()
    place = Loopback if reason else Namespaces
    print("each agent in a network namespace of its own on one bridge, as nobody" if not reason else
          f"agents on loopback ({reason}): no byte counts")
    print("dissemination timing: serf by each agent's event handler, from the origin's handler; Hearsay by a "
          "blocking query per node, from the PUT's answer")
    for n in sizes:
        results = {}
        hosts = place(n)
        try:
            for system_type in (Serf, Hearsay):
                directory = tempfile.mkdtemp(prefix=f"hearsay-vs-serf-{n}-")
                system = system_type(n, directory, hosts)
                try:
                    results[system_type.name] = measure(system, n, hosts)
                finally:
                    system.stop()
                    shutil.rmtree(directory, ignore_errors=True)
        finally:
            hosts.close()
        print(f"\nN = {n}")
        print("| figure | serf | Hearsay | ratio |")
        print("| --- | --- | --- | --- |")
        for key, label, unit in ROWS:
            s, h = results["serf"].get(key), results["Hearsay"].get(key)
            text = lambda v: "n/a" if v is None else f"{v:.2f} {unit}" if v < 10 else f"{v:.1f} {unit}"
            ratio = f"{h / s:.2f}" if s and h is not None else "n/a"
            print(f"| {label} | {text(s)} | {text(h)} | {ratio} |")
        print(f"(writes timed: serf {results['serf']['writes_timed']}, Hearsay {results['Hearsay']['writes_timed']} "
              f"of {WRITES})")


if __name__ == "__main__":
    main()
