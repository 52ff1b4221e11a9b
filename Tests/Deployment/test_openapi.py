"""docs/openapi.yaml against a live agent: the spec validates as OpenAPI 3.1, then
Schemathesis generates requests from it for one real `hearsay agent` on loopback and
checks every answer's status, content type, body and headers against the spec.

The agent runs as `nobody` (the project's rule for agents in tests), from a copy of the
binary in a temporary directory it can read, with its data directory there; both are
removed at the end, however the test ends. The binary is HEARSAY_BINARY, or the debug
build (`swift build --product hearsay`).
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, TOOLS, eventually, free_port, http_json, run

SPEC = REPO / "docs" / "openapi.yaml"
CONFIG = REPO / "Tests" / "Deployment" / "schemathesis.toml"
NOBODY = 65534

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    # Requests that break the spec's constraints are refused (4xx).
    "negative_data_rejection",
    # A method the spec does not list on a path is answered 405, with `Allow` naming
    # exactly the methods it lists.
    "unsupported_method",
    "allow_header_conformance",
    # Stateful: an entry deleted is gone (404), one written can be read back.
    "use_after_free",
    "ensure_resource_availability",
    # Not ignored_auth: the token is optional in the spec (it depends on --api-token),
    # so that check has nothing to hold; the test checks the 401 itself below.
    # Not positive_data_acceptance: the agent rightly refuses some requests the schema
    # admits, for what JSON Schema cannot say: bounds in UTF-8 bytes (tags, roles, a
    # value's canonical size), integers beyond 2^53 anywhere in a value, and `wait`
    # without `index` (pinned in schemathesis.toml, it is sent without `index` too).
]

# What is not fuzzed, by operationId, and why.
EXCLUDED = [
    # GET /v1/events: a stream that never ends while the agent runs; a request for it
    # would wait for its answer to end until the request timeout.
    "streamEvents",
    # POST /v1/leave: the agent leaves and exits; every request after it would fail.
    "leave",
    # POST /v1/join: resolves whatever host names it is given and sends gossip there;
    # test traffic must stay on this machine.
    "join",
]

EXAMPLES_PER_OPERATION = 25
# Seconds for the whole Schemathesis run: its fuzzing and stateful phases repeat until
# they are spent (about 80 s for the test on 2 cores).
MAX_TIME = 75
SEED = 20261203


def binary():
    chosen = os.environ.get("HEARSAY_BINARY") or str(REPO / ".build" / "debug" / "hearsay")
    if not os.access(chosen, os.X_OK):
        pytest.fail(f"no hearsay binary at {chosen}: build first (swift build --product hearsay), or set HEARSAY_BINARY")
    return chosen


def unprivileged():
    """The command prefix that runs the agent as `nobody` when this process is root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("agents in tests run as nobody, and that needs setpriv (util-linux)")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]


class Agent:
    """One agent on loopback ports, as `nobody`, in a directory of its own."""

    def __init__(self, source):
        self.directory = Path(tempfile.mkdtemp(prefix="hearsay-openapi-"))
        os.chmod(self.directory, 0o755)
        self.binary = self.directory / "hearsay"
        shutil.copy(source, self.binary)
        os.chmod(self.binary, 0o755)
        self.data = self.directory / "data"
        self.data.mkdir()
        if os.geteuid() == 0:
            os.chown(self.data, NOBODY, NOBODY)
        self.log = self.directory / "agent.log"
        self.key = run(self.binary, "keygen").stdout.strip()
        self.token = os.urandom(16).hex()
        self.http_port = free_port()
        self.gossip_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.process = None

    def start(self):
        command = unprivileged() + [
            str(self.binary), "agent", "--name", "openapi", "--bind", f"127.0.0.1:{self.gossip_port}",
            "--http", f"127.0.0.1:{self.http_port}", "--key", self.key, "--data-dir", str(self.data),
            "--api-token", self.token, "--log-level", "warning",
        ]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def healthy(self):
        return self.process.poll() is None and http_json("GET", self.url + "/healthz", timeout=2)[0] == 200

    def log_tail(self, size=3000):
        try:
            return self.log.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    def stop(self):
        """SIGTERM (a graceful leave), then SIGKILL after 15 s; the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode

    def remove(self):
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def agent():
    started = Agent(binary())
    try:
        started.start()
        if not eventually(started.healthy, timeout=30, interval=0.2):
            pytest.fail(f"the agent did not answer /healthz within 30 s:\n{started.log_tail()}")
        yield started
    finally:
        started.stop()
        started.remove()


def test_the_openapi_spec_is_valid_openapi_3_1():
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    document, _ = read_from_filename(str(SPEC))
    assert document["openapi"].startswith("3.1"), document["openapi"]
    validate(document)
    # Every route of the router is in the spec, and nothing else.
    router = (REPO / "Sources/HearsayNode/HTTP/Node+API.swift").read_text()
    routes = set()
    for line in router.splitlines():
        line = line.strip()
        if line.startswith("r.add(."):
            method = line[len("r.add(."):line.index(",")].lower()
            path = line.split('"')[1].replace("{address...}", "{address}")
            routes.add((method, path))
    described = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "put", "patch", "post", "delete"}
    }
    assert routes == described, f"router only: {sorted(routes - described)}; spec only: {sorted(described - routes)}"


def test_the_agent_answers_as_its_openapi_spec_says(agent, tmp_path):
    # Mutating calls without the token: 401 with WWW-Authenticate, as the spec says.
    request = urllib.request.Request(agent.url + "/v1/tags", data=b"{}", method="PUT")
    try:
        urllib.request.urlopen(request, timeout=5)
        raise AssertionError("PUT /v1/tags without the token was accepted")
    except urllib.error.HTTPError as error:
        assert error.code == 401 and error.headers.get("WWW-Authenticate") == "Bearer", (error.code, error.headers)

    st = TOOLS / "st"
    assert st.exists(), f"schemathesis is missing from the tools' virtualenv ({TOOLS}): Tests/Deployment/run.sh"
    command = [
        st, "--config-file", CONFIG, "run", SPEC, "--url", agent.url,
        "--checks", ",".join(CHECKS),
        "--max-examples", EXAMPLES_PER_OPERATION, "--max-time", MAX_TIME, "--seed", SEED,
        "--workers", "1", "--request-timeout", "10", "--generation-database", "none",
        "--header", f"Authorization: Bearer {agent.token}", "--no-color",
    ]
    for operation in EXCLUDED:
        command += ["--exclude-operation-id", operation]
    started = time.monotonic()
    # Run from a scratch directory: whatever Schemathesis writes stays out of the checkout.
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=MAX_TIME + 120, cwd=tmp_path,
        env=dict(os.environ, NO_COLOR="1"),
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    print(f"\nschemathesis ran {elapsed:.0f} s; its summary:\n" + "\n".join(output.splitlines()[-25:]))
    alive = agent.process.poll() is None
    assert result.returncode == 0, (
        f"schemathesis exited {result.returncode}\n{output[-20000:]}\n--- agent log\n{agent.log_tail()}"
    )
    assert alive, f"the agent exited during the run\n{agent.log_tail()}"
    assert agent.stop() == 0, f"the agent did not stop cleanly on SIGTERM\n{agent.log_tail()}"
