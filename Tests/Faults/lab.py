"""A lab of real Hearsay agents, each in its own network namespace, and the faults the
scenarios apply to them.

Every node namespace has one veth into a bridge that lives in a switch namespace of its
own; the harness reaches the agents' HTTP ports through one more veth from the host into
that bridge. Faults are iptables rules inside the node namespaces, in a chain of their
own (HSF), applied to gossip between nodes only, never to the harness's own requests:
random loss with `-m statistic --mode random` (this kernel has no netem), partitions as
DROP rules. Removing the namespaces removes every veth and rule with them, so `close()`
(run however a test ends) leaves nothing behind.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

NOBODY = 65534


def run(*args, check=True):
    """Runs a command; its output is returned, and shown if it fails."""
    result = subprocess.run(args, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def remove_stale_namespaces():
    """Removes the namespaces of earlier runs that were killed before they could."""
    for line in run("ip", "netns", "list", check=False).splitlines():
        name = line.split()[0] if line.split() else ""
        parts = name.split("-")
        if len(parts) >= 3 and parts[0] == "hsf" and parts[1].isdigit() and not os.path.exists(f"/proc/{parts[1]}"):
            run("ip", "netns", "del", name, check=False)


def namespaces_available():
    """Whether this process may create network namespaces and use iptables in them;
    the reason when not."""
    if os.geteuid() != 0:
        return "needs root for network namespaces"
    if shutil.which("ip"):
        remove_stale_namespaces()
    for tool in ("ip", "iptables", "setpriv"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    probe = f"hsfprobe{os.getpid()}"
    try:
        run("ip", "netns", "add", probe)
        run("ip", "netns", "exec", probe, "iptables", "-A", "INPUT", "-m", "statistic", "--mode", "random",
            "--probability", "0.5", "-j", "DROP")
    except RuntimeError as error:
        return f"network namespaces or iptables unusable here: {error}"
    finally:
        run("ip", "netns", "del", probe, check=False)
    return None


class Agent:
    """One agent process in its namespace, and its HTTP API from the host."""

    def __init__(self, lab, index):
        self.lab = lab
        self.index = index
        self.name = f"n{index}"
        self.namespace = f"{lab.prefix}-{self.name}"
        self.ip = f"{lab.subnet}.{index}"
        self.data_dir = os.path.join(lab.directory, self.name)
        self.log_path = os.path.join(lab.directory, f"{self.name}.log")
        self.process = None
        self.extra = []

    @property
    def attacker_ips(self):
        """The host addresses hostile clients come from."""
        return [f"{self.lab.subnet}.253", f"{self.lab.subnet}.252"]

    @property
    def url(self):
        return f"http://{self.ip}:7947"

    def start(self, join=None, extra=(), launcher=()):
        """Starts the agent as `nobody`; `launcher` runs before it (an LD_PRELOAD, faketime)."""
        os.makedirs(self.data_dir, exist_ok=True)
        os.chown(self.data_dir, NOBODY, NOBODY)
        self.extra = list(extra)
        arguments = [
            self.lab.binary, "agent", "--name", self.name, "--bind", f"{self.ip}:7946",
            "--http", f"{self.ip}:7947", "--key", self.lab.key, "--data-dir", self.data_dir,
        ] + self.lab.settings
        for seed in join or []:
            arguments += ["--join", f"{seed.ip}:7946"]
        arguments += self.extra
        command = ["ip", "netns", "exec", self.namespace, "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                   "--clear-groups", "--"] + list(launcher) + arguments
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def kill(self):
        """SIGKILL, as a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self):
        """SIGTERM: a graceful leave."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def request(self, method, path, body=None, timeout=5):
        """(status, parsed JSON or text); status 0 when the agent did not answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            raw = error.read()
            status = error.code
        except (OSError, urllib.error.URLError):
            return 0, None
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def healthy(self):
        return self.request("GET", "/healthz", timeout=2)[0] == 200

    def members(self):
        status, body = self.request("GET", "/v1/members")
        if status != 200:
            return None
        return {m["name"]: m["state"] for m in body["members"]}

    def entries(self):
        """Address -> list of (value, vector clock) for every version, deletions included."""
        status, body = self.request("GET", "/v1/metadata", timeout=30)
        if status != 200:
            return None
        return {
            e["address"]: sorted(
                (json.dumps(v.get("value"), sort_keys=True), json.dumps(v["vector_clock"], sort_keys=True))
                for v in e["versions"])
            for e in body["entries"]
        }

    def metrics(self):
        """Sample name with labels -> value."""
        status, text = self.request("GET", "/metrics")
        if status != 200 or not isinstance(text, str):
            return {}
        values = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                pass
        return values

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as log:
                return log.read()
        except OSError:
            return ""


class Lab:
    """`size` namespaces on one bridge, torn down by `close()`."""

    def __init__(self, size, binary, key, settings=()):
        token = os.getpid() % 200 + 20
        # The whole pid in the namespaces' names: a later run removes what a killed run left.
        self.prefix = f"hsf-{os.getpid()}"
        self.subnet = f"10.213.{token}"
        self.directory = tempfile.mkdtemp(prefix="hearsay-faults-")
        os.chmod(self.directory, 0o755)
        self.binary = os.path.join(self.directory, "hearsay")
        # A copy nobody can run, wherever the checkout is.
        shutil.copy(binary, self.binary)
        os.chmod(self.binary, 0o755)
        self.key = key
        self.settings = list(settings)
        self.switch = f"{self.prefix}-sw"
        self.host_link = f"hsf{token}h"
        self.agents = [Agent(self, index + 1) for index in range(size)]
        try:
            self._build()
        except Exception:
            self.close()
            raise

    def _build(self):
        self.close(keep_directory=True)
        run("ip", "netns", "add", self.switch)
        run("ip", "-n", self.switch, "link", "add", "name", "hsbr", "type", "bridge")
        run("ip", "-n", self.switch, "link", "set", "hsbr", "up")
        run("ip", "link", "add", "name", self.host_link, "type", "veth", "peer", "name", "host", "netns", self.switch)
        run("ip", "-n", self.switch, "link", "set", "host", "master", "hsbr", "up")
        run("ip", "addr", "add", f"{self.subnet}.254/24", "dev", self.host_link)
        # Host addresses for hostile clients, so that the limits per address they meet
        # are not the harness's own, and one flood does not keep out the other attacks.
        run("ip", "addr", "add", f"{self.subnet}.253/24", "dev", self.host_link)
        run("ip", "addr", "add", f"{self.subnet}.252/24", "dev", self.host_link)
        run("ip", "link", "set", self.host_link, "up")
        for agent in self.agents:
            ns = agent.namespace
            run("ip", "netns", "add", ns)
            run("ip", "-n", self.switch, "link", "add", "name", f"v{agent.index}", "type", "veth", "peer", "name", "eth0",
                "netns", ns)
            run("ip", "-n", self.switch, "link", "set", f"v{agent.index}", "master", "hsbr", "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "-n", ns, "addr", "add", f"{agent.ip}/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            # The harness's requests and the namespace's own loopback pass; the rest of
            # what arrives goes through HSF, where the faults are.
            iptables = ["ip", "netns", "exec", ns, "iptables"]
            run(*iptables, "-N", "HSF")
            run(*iptables, "-A", "INPUT", "-i", "lo", "-j", "ACCEPT")
            run(*iptables, "-A", "INPUT", "-s", f"{self.subnet}.254", "-j", "ACCEPT")
            run(*iptables, "-A", "INPUT", "-j", "HSF")

    def close(self, keep_directory=False):
        """Kills every agent and removes every namespace, link and rule of this lab."""
        for agent in self.agents:
            agent.kill()
        existing = run("ip", "netns", "list", check=False)
        for line in existing.splitlines():
            name = line.split()[0] if line.split() else ""
            if name == self.switch or name.startswith(self.prefix + "-n"):
                run("ip", "netns", "del", name, check=False)
        run("ip", "link", "del", self.host_link, check=False)
        if not keep_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    # Faults

    def _hsf(self, agent, *rule):
        run("ip", "netns", "exec", agent.namespace, "iptables", "-A", "HSF", *rule)

    def loss(self, probability, agents=None):
        """Drops `probability` of what every node (or `agents`) receives from the others."""
        for agent in agents or self.agents:
            self._hsf(agent, "-m", "statistic", "--mode", "random", "--probability", f"{probability}", "-j", "DROP")

    def partition(self, side_a, side_b):
        """No packet between the two sides, either way."""
        for agent in side_a:
            for other in side_b:
                self._hsf(agent, "-s", other.ip, "-j", "DROP")
        for agent in side_b:
            for other in side_a:
                self._hsf(agent, "-s", other.ip, "-j", "DROP")

    def heal(self):
        """Removes every fault."""
        for agent in self.agents:
            run("ip", "netns", "exec", agent.namespace, "iptables", "-F", "HSF")

    def wait(self, condition, timeout, interval=0.5):
        """Polls `condition` until it holds; the seconds it took, or None."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if condition():
                return time.monotonic() - start
            time.sleep(interval)
        return time.monotonic() - start if condition() else None
