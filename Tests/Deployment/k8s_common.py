"""What every check of the Kubernetes manifests shares: the report, the manifests
loaded, selectors, and the facts about the image they are checked against
(kubernetes_test.py runs the checks)."""

import sys
from pathlib import Path

try:
    import yaml
except ImportError as error:  # the harness installs PyYAML with kubernetes-validate
    print(f"FAIL: yaml import: {error}; install PyYAML (docs/kubernetes.md)", flush=True)
    sys.exit(1)


REPO = Path(__file__).resolve().parents[2]


# The oldest Kubernetes release the manifests are meant for, and the newest one whose
# schemas kubernetes-validate ships (found at run time). Strict schemas refuse unknown
# fields, so a misspelt field fails here instead of being dropped by the API server.
OLDEST_KUBERNETES = "1.30"


# Container ports the image exposes (docs/operations.md): gossip on UDP and TCP, the
# HTTP API and /metrics.
EXPECTED_PORTS = {(7946, "UDP"), (7946, "TCP"), (7947, "TCP")}


# The image's user and group (`hearsay`, uid and gid 10001).
IMAGE_UID = 10001


# Volume types the "restricted" Pod Security Standard admits.
RESTRICTED_VOLUME_TYPES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
}


# Margin the grace period must leave above the leave timeout: after the leave, the agent
# syncs its metadata log and closes its sockets, and a busy node delays all of it.
GRACE_MARGIN_SECONDS = 5


class Report:
    def __init__(self):
        self.failed = 0
        self.counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}

    def emit(self, verdict, name, reason=None):
        self.counts[verdict] += 1
        if verdict == "FAIL":
            self.failed += 1
        line = f"{verdict}: {name}"
        if reason:
            line += f": {reason}"
        print(line, flush=True)

    def ok(self, name):
        self.emit("PASS", name)

    def fail(self, name, reason):
        self.emit("FAIL", name, reason)

    def skip(self, name, reason):
        self.emit("SKIP", name, reason)

    def check(self, name, problems):
        """PASS when `problems` (a list of strings) is empty, else FAIL listing them."""
        if problems:
            self.fail(name, "; ".join(problems))
        else:
            self.ok(name)


def load_manifests(directory, report):
    """Every object of every YAML file in `directory` except the kustomization, as
    (file name, object) pairs."""
    objects = []
    files = sorted(p for p in directory.glob("*.y*ml") if p.name != "kustomization.yaml")
    if not files:
        report.fail("manifests found", f"no YAML files in {directory}")
        return objects, files
    for path in files:
        try:
            documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        except yaml.YAMLError as error:
            report.fail(f"yaml {path.name}", str(error).replace("\n", " "))
            continue
        problems = []
        for document in documents:
            if not isinstance(document, dict) or not {"apiVersion", "kind", "metadata"} <= document.keys():
                problems.append("a document without apiVersion, kind and metadata")
                continue
            objects.append((path.name, document))
        report.check(f"yaml {path.name}", problems)
    return objects, files


def key(obj):
    return f"{obj['kind'].lower()}/{obj['metadata'].get('name', '?')}"


def the_one(objects, kind, report, name):
    """The single object of `kind`; FAIL `name` when there is none or several."""
    found = [o for _, o in objects if o["kind"] == kind]
    if len(found) != 1:
        report.fail(name, f"expected exactly one {kind}, found {len(found)}")
        return None
    return found[0]


def selector_matches(selector, labels):
    """Whether a LabelSelector (matchLabels and matchExpressions) selects `labels`; an
    empty selector is treated as a mistake here, since every one of ours names the pods."""
    if not selector:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expression in selector.get("matchExpressions") or []:
        k, op, values = expression["key"], expression["operator"], expression.get("values") or []
        if op == "In" and labels.get(k) not in values:
            return False
        if op == "NotIn" and labels.get(k) in values:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return bool(selector.get("matchLabels") or selector.get("matchExpressions"))


def plain_selector_matches(selector, labels):
    """A Service's selector: a plain map, all of which must be among `labels`."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def read_source(path, check, report):
    """The text of one of the agent's sources, or None with `check` failed."""
    try:
        return path.read_text()
    except OSError as error:
        report.fail(check, f"cannot read {path}: {error}")
        return None


def containers_of(pod_spec):
    return [("init container", c) for c in pod_spec.get("initContainers") or []] + [
        ("container", c) for c in pod_spec.get("containers") or []]


def image_name(image):
    """`registry/path/name:tag@digest` without tag and digest."""
    image = image.split("@", 1)[0]
    slash = image.rfind("/")
    colon = image.rfind(":")
    return image[:colon] if colon > slash else image
