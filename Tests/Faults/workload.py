"""Writes through the agents' HTTP APIs, the record of what they acknowledged, and the
checks every scenario ends with."""

import http.client
import json
import random
import threading
import time


class Ledger:
    """Every write an agent acknowledged (200), by address: its value and who took it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}
        self.attempted = 0
        self.refused = {}

    def record(self, address, value, agent, status):
        with self.lock:
            self.attempted += 1
            if status == 200:
                self.acked.setdefault(address, []).append((value, agent.name))
            else:
                self.refused[status] = self.refused.get(status, 0) + 1

    @property
    def count(self):
        with self.lock:
            return sum(len(v) for v in self.acked.values())


def put(connection, agent, address, value):
    """One PUT on a kept-alive connection; the status, 0 when it failed."""
    body = json.dumps({"value": value})
    try:
        connection.request("PUT", f"/v1/metadata/{address}", body=body,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        connection.close()
        return 0


class Writers:
    """`threads` writers, each writing new addresses to the live agents in turn at about
    `rate` writes a second in all, until stopped."""

    def __init__(self, agents, ledger, rate, threads=4, prefix="w", seed=1):
        self.agents = agents
        self.ledger = ledger
        self.rate = rate
        self.threads = threads
        self.prefix = prefix
        self.stopped = threading.Event()
        self.random = random.Random(seed)
        self.workers = []

    def start(self):
        for number in range(self.threads):
            worker = threading.Thread(target=self._write, args=(number,), daemon=True)
            worker.start()
            self.workers.append(worker)
        return self

    def _write(self, number):
        connections = {}
        interval = self.threads / self.rate
        sequence = 0
        next_at = time.monotonic()
        while not self.stopped.is_set():
            live = [a for a in self.agents if a.running]
            if not live:
                time.sleep(0.1)
                continue
            agent = live[(number + sequence) % len(live)]
            connection = connections.get(agent.name)
            if connection is None or connection.sock is None:
                connection = http.client.HTTPConnection(agent.ip, 7947, timeout=5)
                connections[agent.name] = connection
            address = f"{self.prefix}/{number}/{sequence}"
            value = {"n": sequence, "by": number}
            self.ledger.record(address, value, agent, put(connection, agent, address, value))
            sequence += 1
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_at = time.monotonic()
        for connection in connections.values():
            connection.close()

    def stop(self):
        self.stopped.set()
        for worker in self.workers:
            worker.join(timeout=30)


def missing_writes(agent, ledger):
    """Acknowledged writes the agent does not hold: (address, value) pairs. An address
    written once must hold its value; one written several times must hold its last value
    from each agent that took one (concurrent writes are kept side by side)."""
    entries = agent.entries()
    if entries is None:
        return None
    missing = []
    with ledger.lock:
        acked = {address: list(writes) for address, writes in ledger.acked.items()}
    for address, writes in acked.items():
        held = {value for value, _ in entries.get(address, [])}
        last_by_agent = {}
        for value, by in writes:
            last_by_agent[by] = value
        for value in last_by_agent.values() if len(writes) > 1 else [writes[0][0]]:
            if json.dumps(value, sort_keys=True) not in held:
                missing.append((address, value))
    return missing


def converged(agents):
    """Whether every agent holds the same versions of every entry."""
    views = [agent.entries() for agent in agents]
    return all(view is not None for view in views) and all(view == views[0] for view in views)


def all_alive(agents):
    """Whether every agent sees exactly these agents, all alive."""
    expected = {agent.name: "alive" for agent in agents}
    return all(agent.members() == expected for agent in agents)


def counter(agents, prefix):
    """The sum of a counter's samples whose name starts with `prefix`, over agents."""
    total = 0.0
    for agent in agents:
        total += sum(v for k, v in agent.metrics().items() if k.startswith(prefix))
    return total


def drops_by_reason(agents):
    """hearsay_messages_dropped_total summed over agents and types, by reason."""
    reasons = {}
    for agent in agents:
        for name, value in agent.metrics().items():
            if name.startswith("hearsay_messages_dropped_total{") and value:
                reason = name.split('reason="')[1].split('"')[0]
                reasons[reason] = reasons.get(reason, 0) + value
    return {k: int(v) for k, v in sorted(reasons.items())}


class MemorySampler:
    """The largest resident memory each agent reported while it ran."""

    def __init__(self, agents, interval=2.0):
        self.agents = agents
        self.interval = interval
        self.peak = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _sample(self):
        while not self.stopped.is_set():
            for agent in self.agents:
                if agent.running:
                    resident = agent.metrics().get("process_resident_memory_bytes")
                    if resident:
                        self.peak[agent.name] = max(self.peak.get(agent.name, 0), resident)
            self.stopped.wait(self.interval)

    def stop(self):
        self.stopped.set()
        self.thread.join(timeout=10)
        return max(self.peak.values(), default=0)
