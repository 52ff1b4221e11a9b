"""The Kubernetes manifests, validated offline: kubernetes_test.py checks them against
the Kubernetes schemas and checks that names, ports, probes and secrets agree; each of
its lines is one check."""

import sys

from conftest import REPO, run


def test_the_kubernetes_manifests_validate_and_agree():
    result = run(sys.executable, REPO / "Tests/Deployment/kubernetes_test.py", check=False, timeout=300)
    lines = result.stdout.splitlines()
    print("\n" + "\n".join(lines))
    failed = [line for line in lines if line.startswith("FAIL")]
    assert result.returncode == 0 and not failed, "\n".join(failed) + result.stderr[-3000:]
    assert sum(line.startswith("PASS") for line in lines) >= 40, result.stdout + result.stderr
