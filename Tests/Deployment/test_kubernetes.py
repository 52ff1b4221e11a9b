"""The Kubernetes manifests, validated offline: kubernetes_test.py checks them against
the Kubernetes schemas and checks that names, ports, probes and secrets agree; each of
its lines is one check."""

import json
import os
import sys

import yaml

from conftest import LABEL, REPO, RESTRICTED, RUN, eventually, run


def test_the_kubernetes_manifests_validate_and_agree():
    result = run(sys.executable, REPO / "Tests/Deployment/kubernetes_test.py", check=False, timeout=300)
    lines = result.stdout.splitlines()
    print("\n" + "\n".join(lines))
    failed = [line for line in lines if line.startswith("FAIL")]
    assert result.returncode == 0 and not failed, "\n".join(failed) + result.stderr[-3000:]
    assert sum(line.startswith("PASS") for line in lines) >= 40, result.stdout + result.stderr


def test_the_keyring_init_container_seeds_a_new_volume_once_and_refuses_a_placeholder(docker, image, tmp_path):
    """The StatefulSet's init container, run for real: its script from statefulset.yaml,
    in the image, with the restricted settings, a data volume and a Secret-like mount."""
    statefulset = yaml.safe_load((REPO / "deploy/kubernetes/statefulset.yaml").read_text())
    pod = statefulset["spec"]["template"]["spec"]
    init = next(c for c in pod["initContainers"] if c["name"] == "keyring")
    config = yaml.safe_load((REPO / "deploy/kubernetes/configmap.yaml").read_text())["data"]
    keyring_path = config["HEARSAY_KEYRING"]
    secret_mount = next(m["mountPath"] for m in init["volumeMounts"] if m["name"] == "keys")

    def run_init(volume, secret_dir):
        return docker("run", "--rm", "--label", LABEL, *RESTRICTED, "--user", "10001:10001",
                      "-v", f"{volume}:/var/lib/hearsay", "-v", f"{secret_dir}:{secret_mount}:ro",
                      "-e", f"HEARSAY_KEYRING={keyring_path}", "--entrypoint", init["command"][0], image,
                      *init["command"][1:], check=False)

    def volume(name):
        full = f"hearsay-test-{RUN}-{name}"
        docker("volume", "create", "--label", LABEL, full)
        return full

    first, second = (docker("run", "--rm", image, "keygen").stdout.strip() for _ in range(2))
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "keyring.json").write_text(json.dumps([first]) + "\n")
    os.chmod(secret, 0o755)
    os.chmod(secret / "keyring.json", 0o644)
    data = volume("keyring")
    seeded = run_init(data, secret)
    assert seeded.returncode == 0 and "copied" in seeded.stdout, seeded.stdout + seeded.stderr

    # The agent runs on the copy and saves a key installed through the API into it.
    agent = f"hearsay-test-{RUN}-keyring-agent"
    docker("run", "-d", "--label", LABEL, *RESTRICTED, "--name", agent, "-v", f"{data}:/var/lib/hearsay",
           "-e", f"HEARSAY_KEYRING={keyring_path}", image)
    assert eventually(lambda: docker("exec", agent, "hearsay", "health", check=False).returncode == 0, 30), \
        docker("logs", agent, check=False).stdout
    docker("exec", agent, "hearsay", "keys", "install", second)
    docker("rm", "-f", agent)

    # The next start of the pod keeps the agent's own keyring, with the key it learnt.
    again = run_init(data, secret)
    assert again.returncode == 0 and "keeping" in again.stdout, again.stdout + again.stderr
    stored = json.loads(docker("run", "--rm", "--entrypoint", "cat", "-v", f"{data}:/var/lib/hearsay", image,
                               keyring_path).stdout)
    assert stored[0] == first and second in stored, stored

    # A Secret still holding the placeholder seeds nothing.
    placeholder = tmp_path / "placeholder"
    placeholder.mkdir()
    secret_manifest = yaml.safe_load((REPO / "deploy/kubernetes/secret.yaml").read_text())
    (placeholder / "keyring.json").write_text(secret_manifest["stringData"]["keyring.json"])
    os.chmod(placeholder, 0o755)
    os.chmod(placeholder / "keyring.json", 0o644)
    refused = run_init(volume("placeholder"), placeholder)
    assert refused.returncode != 0 and "placeholder" in refused.stderr, refused.stdout + refused.stderr
