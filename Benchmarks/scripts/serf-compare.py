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
  up when its -join finds nobody) until the first and the last agent list all N alive;
  the median of three joins, each with fresh agents (one join varies by a factor of two
  between runs, serf's most).
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

import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serf_agents import (  # noqa: E402
    HEARSAY,
    Hearsay,
    Loopback,
    Namespaces,
    SERF,
    Serf,
    cpu_seconds,
    quantile,
    rss_mb,
    wait,
)
from lab import namespaces_available  # noqa: E402

WRITES = 20
SETTLE = 35


def joined(system, n):
    """Seconds from the start of the first joiner until the first and the last agent list
    every agent alive, or None; the agents were all started just now (the seed first).
    From the first joiner: starting 63 processes through `ip netns exec` takes longer than
    the join itself."""
    names = {"serf": "s", "Hearsay": "h"}
    expected = {f"{names[system.name]}{i}": "alive" for i in range(n)}
    done = wait(lambda: system.members(0) == expected and system.members(n - 1) == expected, 120, 0.02)
    return time.monotonic() - system.joins_started if done else None


def join_only(system_type, n, hosts):
    """One more join with fresh agents, stopped at once."""
    directory = tempfile.mkdtemp(prefix=f"hearsay-vs-serf-{n}-join-")
    system = system_type(n, directory, hosts)
    try:
        return joined(system, n)
    finally:
        system.stop()
        shutil.rmtree(directory, ignore_errors=True)


def measure(system, n, hosts, earlier_joins):
    """The figures of a system whose agents were all started just now (the seed first);
    `earlier_joins` are the times of its join-only runs."""
    figures = {}
    joins = [t for t in earlier_joins + [joined(system, n)] if t is not None]
    figures["join_s"] = statistics.median(joins) if len(joins) == len(earlier_joins) + 1 else None
    figures["join_range"] = (min(joins), max(joins)) if joins else None
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


ROWS = [("join_s", "join: every member seen by the first and last agent, median of 3", "s"),
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
                earlier = [join_only(system_type, n, hosts) for _ in range(2)]
                directory = tempfile.mkdtemp(prefix=f"hearsay-vs-serf-{n}-")
                system = system_type(n, directory, hosts)
                try:
                    results[system_type.name] = measure(system, n, hosts, earlier)
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
        spans = {name: results[name].get("join_range") for name in ("serf", "Hearsay")}
        print("(joins: " + ", ".join(
            f"{name} {span[0]:.2f} to {span[1]:.2f} s" if span else f"{name} n/a" for name, span in spans.items()) + ")")


if __name__ == "__main__":
    main()
