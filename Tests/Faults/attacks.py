"""Hostile input at an agent's ports, as the attacks that found issue 13 sent it, from
the lab's attacker address. Each attack runs until `stop` is set and counts what it sent."""

import os
import socket
import struct
import threading
import time


def _connect(agent, port, timeout=3, source=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((agent.attacker_ips[source], 0))
    s.connect((agent.ip, port))
    return s


def huge_frames(agent, stop, counts):
    """Connections declaring a 16 MiB frame and sending its bytes, 100 at a time."""
    junk = b"\x5a" * (256 * 1024)
    while not stop.is_set():
        sockets = []
        for _ in range(100):
            try:
                s = _connect(agent, 7946)
                s.sendall(struct.pack(">I", 16 * 1024 * 1024 - 100) + junk)
                sockets.append(s)
            except OSError:
                pass
            counts["huge_frames"] = counts.get("huge_frames", 0) + 1
        time.sleep(0.5)
        for s in sockets:
            s.close()


def trickles(agent, stop, counts):
    """Connections that send a frame's length and then a byte now and then."""
    sockets = []
    while not stop.is_set():
        try:
            s = _connect(agent, 7946, source=1)
            s.sendall(struct.pack(">I", 1000))
            sockets.append(s)
            counts["trickles"] = counts.get("trickles", 0) + 1
        except OSError:
            pass
        for s in list(sockets):
            try:
                s.send(b"\x00")
            except OSError:
                sockets.remove(s)
                s.close()
        stop.wait(0.2)
    for s in sockets:
        s.close()


def bad_datagrams(agent, stop, counts):
    """Random bytes, frames of the wrong version, and datagrams over every size limit."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((agent.attacker_ips[0], 0))
    shapes = [lambda: os.urandom(200), lambda: b"\x01\x00" + os.urandom(300), lambda: b"\x02" + os.urandom(100),
              lambda: os.urandom(1500), lambda: os.urandom(4000), lambda: b""]
    n = 0
    while not stop.is_set():
        try:
            s.sendto(shapes[n % len(shapes)](), (agent.ip, 7946))
            counts["datagrams"] = counts.get("datagrams", 0) + 1
        except OSError:
            pass
        n += 1
        if n % 50 == 0:
            time.sleep(0.01)
    s.close()


def http_flood(agent, stop, counts):
    """Keep-alive connections that never send a request, more than the limits allow."""
    sockets = []
    while not stop.is_set() and len(sockets) < 1500:
        try:
            sockets.append(_connect(agent, 7947))
            counts["http_idle"] = counts.get("http_idle", 0) + 1
        except OSError:
            stop.wait(0.05)
    stop.wait()
    for s in sockets:
        s.close()


def slow_bodies(agent, stop, counts):
    """Chunked PUTs of about 1 MB that never finish, 100 at a time, held 10 s."""
    head = b"PUT /v1/metadata/attack HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"%x\r\n" % 1_000_000 + b" " * 1_000_000 + b"\r\n"
    while not stop.is_set():
        sockets = []
        for _ in range(100):
            try:
                s = _connect(agent, 7947, source=1)
                s.sendall(head + chunk)
                sockets.append(s)
                counts["slow_bodies"] = counts.get("slow_bodies", 0) + 1
            except OSError:
                pass
        stop.wait(10)
        for s in sockets:
            s.close()


def malformed_requests(agent, stop, counts):
    """Requests that do not parse, and queries and bodies the API refuses."""
    requests = [
        b"GARBAGE\r\n\r\n", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET /v1/metadata?prefix=%zz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"PUT /v1/metadata/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{bad}",
        b"PUT /v1/metadata/x HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\n{\"value\": 99999999999999999999}",
        b"PUT /v1/metadata/x HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    ]
    n = 0
    while not stop.is_set():
        try:
            s = _connect(agent, 7947)
            s.sendall(requests[n % len(requests)])
            s.recv(4096)
            s.close()
            counts["malformed"] = counts.get("malformed", 0) + 1
        except OSError:
            pass
        n += 1
        stop.wait(0.02)


ALL = [huge_frames, trickles, bad_datagrams, http_flood, slow_bodies, malformed_requests]


class Attack:
    """Every attack at once against `agent`, in threads, until `stop()`."""

    def __init__(self, agent):
        self.agent = agent
        self.stop_event = threading.Event()
        self.counts = {}
        self.threads = [threading.Thread(target=f, args=(agent, self.stop_event, self.counts), daemon=True)
                        for f in ALL]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=30)
        return dict(self.counts)
