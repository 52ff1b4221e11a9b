"""The harness of the deployment tests: a real Docker engine, and everything a test
creates labelled with this run's id and removed at the end, whatever happened.

`make test` runs these after the Swift suites, through Tests/Deployment/run.sh, which
makes the tools' virtualenv. When Docker cannot run here (no client, no daemon and not
root to start one), the Docker tests are skipped and say why; they never pass silently.
"""

import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")
DOCKERD = shutil.which("dockerd") or "/usr/sbin/dockerd"
# The engine's API socket, for what the client cannot list (build cache records).
SOCKET = (
    os.environ["DOCKER_HOST"].removeprefix("unix://")
    if os.environ.get("DOCKER_HOST", "").startswith("unix://")
    else "/var/run/docker.sock"
)
TOOLS = Path(sys.executable).parent
RUN = f"{os.getpid()}-{secrets.token_hex(3)}"
LABEL_KEY = "hearsay.test"
LABEL = f"{LABEL_KEY}={RUN}"
# Containers run as the Kubernetes manifests run them (restricted Pod Security): read-only
# root filesystem, no capabilities, no privilege escalation.
RESTRICTED = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
BASE_IMAGES = ["debian:bookworm-slim", "swift:6.3-bookworm", "prom/prometheus:v2.42.0"]


def run(*args, check=True, timeout=600, env=None, input=None):
    """Runs a command; returns its CompletedProcess with text output."""
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=env, input=input
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def eventually(condition, timeout=60.0, interval=0.5):
    """Polls `condition` until it returns a true value or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def free_port():
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_json(method, url, body=None, timeout=5):
    """(status, parsed JSON or None); (None, None) when nothing answers."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        text, status = error.read(), error.code
    except (OSError, http.client.HTTPException):
        return None, None
    try:
        return status, json.loads(text)
    except ValueError:
        return status, None


def http_text(url, timeout=5):
    """The body of a GET as text; None when nothing answers or the status is not 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read().decode()
    except (OSError, http.client.HTTPException):
        return None


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


class Docker:
    """The engine, through Debian's docker client, and what this run made in it."""

    def __init__(self, started_daemon):
        self.started_daemon = started_daemon
        self.base_images_built = []

    def __call__(self, *args, check=True, timeout=600, env=None, input=None):
        environment = dict(os.environ if env is None else env, DOCKER_BUILDKIT="1")
        return run(DOCKER, *args, check=check, timeout=timeout, env=environment, input=input)

    def inspect(self, template, name):
        result = self("inspect", "--format", template, name, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def image_present(self, name):
        return self("image", "inspect", name, check=False).returncode == 0

    def build_cache_records(self):
        """id -> creation time of the build cache records the engine holds now."""
        connection = _UnixConnection(SOCKET)
        connection.request("GET", "/system/df")
        records = json.loads(connection.getresponse().read()).get("BuildCache") or []
        connection.close()
        return {record["ID"]: record.get("CreatedAt", "") for record in records}

    def build_cache_ids(self):
        return set(self.build_cache_records())

    def remove_build_cache(self, ids):
        """Removes exactly these records. The engine takes one id per prune and keeps a
        record while others built on it remain, so the newest go first, and passes
        repeat while they make progress."""
        while True:
            records = self.build_cache_records()
            left = sorted((record for record in ids if record in records), key=records.get, reverse=True)
            if not left:
                return
            for record in left:
                self("builder", "prune", "--all", "--force", "--filter", f"id={record}", check=False)
            if len(ids & self.build_cache_ids()) == len(left):
                return

    def remove_labelled(self, label):
        """Every container, network and volume that carries `label` (key or key=value)."""
        containers = self("ps", "-aq", "--filter", f"label={label}", check=False).stdout.split()
        if containers:
            self("rm", "-f", "-v", *containers, check=False)
        networks = self("network", "ls", "-q", "--filter", f"label={label}", check=False).stdout.split()
        if networks:
            self("network", "rm", *networks, check=False)
        volumes = self("volume", "ls", "-q", "--filter", f"label={label}", check=False).stdout.split()
        if volumes:
            self("volume", "rm", "-f", *volumes, check=False)

    def remove_leftovers_of_dead_runs(self):
        """What an earlier run that was killed before its clean-up left behind (its pid
        is gone): labelled containers, networks, volumes and images, and its Compose
        project. Build cache records carry no label, so a killed run's stay."""
        runs = set()
        for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"], ["image", "ls"]):
            listing = self(*kind, "--filter", f"label={LABEL_KEY}", "--format", "{{.Labels}}", check=False)
            for line in listing.stdout.splitlines():
                for pair in line.split(","):
                    key, _, value = pair.partition("=")
                    if key == LABEL_KEY and value:
                        runs.add(value)
        projects = self("ps", "-a", "--filter", "label=com.docker.compose.project",
                        "--format", '{{.Label "com.docker.compose.project"}}', check=False).stdout.split()
        runs |= {project.removeprefix("hearsay-test-") for project in projects if project.startswith("hearsay-test-")}
        for run_id in runs:
            pid = run_id.split("-")[0]
            if run_id == RUN or not pid.isdigit() or Path(f"/proc/{pid}").exists():
                continue
            self.remove_labelled(f"com.docker.compose.project=hearsay-test-{run_id}")
            self.remove_labelled(f"{LABEL_KEY}={run_id}")
            images = self("image", "ls", "-q", "--filter", f"label={LABEL_KEY}={run_id}", check=False).stdout.split()
            if images:
                self("image", "rm", "-f", *set(images), check=False)


def _daemon_answers():
    return run(DOCKER, "version", "--format", "{{.Server.Version}}", check=False, timeout=30).returncode == 0


@pytest.fixture(scope="session")
def docker():
    """A Docker engine: the one that runs, or one this run starts (as root) and stops."""
    if not Path(DOCKER).exists():
        cannot_run(f"no client at {DOCKER} (make deps installs docker.io)")
    daemon = None
    log = None
    if not _daemon_answers():
        if os.geteuid() != 0:
            cannot_run("no daemon answers and starting dockerd needs root")
        if not Path(DOCKERD).exists():
            cannot_run(f"no daemon answers and there is no {DOCKERD}")
        log = tempfile.NamedTemporaryFile(prefix="hearsay-dockerd-", suffix=".log", delete=False)
        daemon = subprocess.Popen([DOCKERD], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        eventually(lambda: daemon.poll() is not None or _daemon_answers(), timeout=90)
        if daemon.poll() is not None or not _daemon_answers():
            text = Path(log.name).read_text()[-3000:]
            stop_daemon(daemon)
            os.unlink(log.name)
            cannot_run(f"dockerd did not start:\n{text}")
    engine = Docker(started_daemon=daemon is not None)
    engine.remove_leftovers_of_dead_runs()
    engine.cache_at_start = engine.build_cache_ids()
    yield engine
    engine.remove_labelled(LABEL)
    # Children before parents: the Swift and Prometheus images are built on Debian's.
    for image in reversed(engine.base_images_built):
        engine("image", "rm", image, check=False)
    engine.remove_build_cache(engine.build_cache_ids() - engine.cache_at_start)
    # What carries this run's label is this run's: anything left is a clean-up bug.
    left = [kind for kind in (["ps", "-aq"], ["network", "ls", "-q"], ["volume", "ls", "-q"], ["image", "ls", "-q"])
            if engine(*kind, "--filter", f"label={LABEL}", check=False).stdout.strip()]
    # Build cache records carry no label: another build on this engine may have made these.
    cache_left = engine.build_cache_ids() - engine.cache_at_start
    if cache_left:
        print(f"\nbuild cache records made during the run and still there: {len(cache_left)}")
    if daemon is not None:
        # Only the daemon this run started, by its own process: a daemon someone else
        # runs is left alone. Its bridge (docker0) and iptables chains stay, as after
        # any stop of dockerd; the next daemon takes them over.
        stop_daemon(daemon)
        os.unlink(log.name)
    assert not left, f"the run's label is still on: {[' '.join(kind) for kind in left]}"


def stop_daemon(daemon):
    """SIGTERM, which makes dockerd stop its containerd too, then waits for it."""
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(timeout=60)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()


def cannot_run(reason):
    """Skips the Docker tests, saying why; under CI (CI=true), where the machine can run
    Docker, fails instead, so that a broken setup cannot pass as skipped tests."""
    message = f"Docker cannot run here: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: failing instead of skipping)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def image(docker):
    """The image built from the repository's Dockerfile, tagged for this run and removed
    at the end with its build cache; base images it had to build are removed too."""
    cache_before = docker.build_cache_ids()
    missing = [name for name in BASE_IMAGES if not docker.image_present(name)]
    # Whatever of them gets built is removed at the end, even if the build fails halfway.
    docker.base_images_built = missing
    tag = f"hearsay-test:{RUN}"
    try:
        if missing:
            started = time.monotonic()
            docker_env = dict(os.environ, DOCKER=DOCKER)
            run(REPO / "deploy/docker/base-images.sh", *missing, env=docker_env, timeout=1800)
            print(f"\nbase images built: {', '.join(missing)} in {time.monotonic() - started:.0f} s")
        started = time.monotonic()
        docker("build", "--label", LABEL, "-t", tag, str(REPO), timeout=2400)
        print(f"\nimage {tag} built in {time.monotonic() - started:.0f} s")
        yield tag
    finally:
        # Containers of the image go first: an image still in use would only lose its tag.
        docker.remove_labelled(LABEL)
        image_id = docker.inspect("{{.Id}}", tag)
        docker("image", "rm", "-f", image_id or tag, check=False)
        # Base images go in the docker fixture's clean-up, after every user of them.
        docker.remove_build_cache(docker.build_cache_ids() - cache_before)
