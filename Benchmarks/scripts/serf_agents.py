"""The agents `serf-compare.py` runs side by side: serf and Hearsay processes, on
loopback or each in a network namespace of its own, with what it reads of them
(memory, CPU) and small helpers."""

import base64
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEARSAY = os.environ.get("HEARSAY_BINARY", os.path.join(ROOT, ".build", "release", "hearsay"))
SERF = shutil.which("serf") or "/usr/bin/serf"
GOSSIP_PORT = 7946

sys.path.insert(0, os.path.join(ROOT, "Tests", "Faults"))
from lab import Lab, NOBODY, run  # noqa: E402


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
