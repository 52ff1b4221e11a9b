#!/usr/bin/env python3
"""Offline checks of the Kubernetes manifests in deploy/kubernetes.

Validates every object against the Kubernetes JSON schemas shipped by the
kubernetes-validate package (no cluster needed), then checks that the objects agree
with one another and with the agent's sources: names and selectors, ports, the
Secret and ConfigMap references, the security context the "restricted" Pod Security
Standard requires, the grace period against the agent's leave timeout, and that every
HEARSAY_* variable is a real setting.

Output: one line per check, `PASS: <name>`, `FAIL: <name>: <reason>` or
`SKIP: <name>: <reason>`; the exit code is 1 when any check failed, else 0.

    python3 Tests/Deployment/kubernetes_test.py [--manifests DIR] [--sources DIR]

--manifests defaults to deploy/kubernetes and --sources to the repository root (where
Sources/ and prometheus/ are), both found from this file's location.
"""

import argparse
import base64
import binascii
import json
import re
import shutil
import subprocess
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


# MARK: Loading


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


# MARK: Schemas


def check_schemas(objects, report):
    try:
        import kubernetes_validate
    except ImportError as error:
        report.fail(
            "kubernetes_validate import",
            f"{error}; install it with pip install kubernetes-validate==1.37.0 (docs/kubernetes.md)")
        return
    report.ok("kubernetes_validate import")
    newest = ".".join(kubernetes_validate.latest_version().split(".")[:2])
    versions = [OLDEST_KUBERNETES] if newest == OLDEST_KUBERNETES else [OLDEST_KUBERNETES, newest]
    for _, obj in objects:
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            report.skip(
                f"schema {key(obj)}",
                "a Prometheus Operator CRD, for which kubernetes-validate ships no schema: its "
                "metadata and selector are validated against the Kubernetes schemas and the "
                "rest by 'servicemonitor structure' below")
            check_crd_parts(obj, versions, kubernetes_validate, report)
            continue
        for version in versions:
            validate_one(obj, version, f"schema {key(obj)} (Kubernetes {version}, strict)", kubernetes_validate,
                         report)


def validate_one(obj, version, name, kubernetes_validate, report):
    """One object against one Kubernetes version's strict schema, reported as one check."""
    try:
        kubernetes_validate.validate(obj, version, strict=True)
        report.ok(name)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(p) for p in error.path) or "(top)"
        report.fail(name, f"{path}: {error.message}")
    except kubernetes_validate.SchemaNotFoundError as error:
        report.fail(name, error.message)
    except Exception as error:  # a broken schema set is a failure, not a pass
        report.fail(name, f"{type(error).__name__}: {error}")


def check_crd_parts(obj, versions, kubernetes_validate, report):
    """The parts of a custom resource that are Kubernetes types, validated by wrapping
    them in a built-in object: metadata as a ConfigMap's, the selector as a PDB's."""
    wrappers = {
        "metadata": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj.get("metadata", {})},
        "spec.selector": {
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "wrapper"},
            "spec": {"selector": (obj.get("spec") or {}).get("selector", {})},
        },
    }
    for part, wrapper in wrappers.items():
        for version in versions:
            validate_one(wrapper, version, f"schema {key(obj)} {part} (Kubernetes {version}, strict)",
                         kubernetes_validate, report)


# The ServiceMonitor fields these manifests may use, with their types, after the
# monitoring.coreos.com/v1 CRD. Anything else is refused, as a strict schema would.
SERVICEMONITOR_SPEC_FIELDS = {
    "jobLabel": str, "targetLabels": list, "podTargetLabels": list, "endpoints": list,
    "selector": dict, "namespaceSelector": dict, "sampleLimit": int, "targetLimit": int,
    "attachMetadata": dict, "scrapeClass": str, "labelLimit": int,
}
SERVICEMONITOR_ENDPOINT_FIELDS = {
    "port": str, "targetPort": (int, str), "path": str, "scheme": str, "params": dict,
    "interval": str, "scrapeTimeout": str, "honorLabels": bool, "honorTimestamps": bool,
    "relabelings": list, "metricRelabelings": list, "followRedirects": bool,
    "enableHttp2": bool, "filterRunning": bool, "bearerTokenSecret": dict,
    "authorization": dict, "tlsConfig": dict, "basicAuth": dict,
}
RELABEL_FIELDS = {
    "sourceLabels": list, "separator": str, "targetLabel": str, "regex": str,
    "modulus": int, "replacement": str, "action": str,
}
RELABEL_ACTIONS = {
    "replace", "keep", "drop", "hashmod", "labelmap", "labeldrop", "labelkeep",
    "lowercase", "uppercase", "keepequal", "dropequal",
}
# The CRD's pattern for durations.
PROMETHEUS_DURATION = re.compile(r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def duration_seconds(text):
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?", text)
    if not match or not text:
        return None
    h, m, s, ms = (int(g) if g else 0 for g in match.groups())
    return h * 3600 + m * 60 + s + ms / 1000


def typed_fields(where, value, fields, problems):
    if not isinstance(value, dict):
        problems.append(f"{where} is not a mapping")
        return False
    for field, item in value.items():
        if field not in fields:
            problems.append(f"{where}.{field} is not a field this test knows of the CRD")
        elif not isinstance(item, fields[field]) or isinstance(item, bool) and fields[field] is int:
            problems.append(f"{where}.{field} has the wrong type ({type(item).__name__})")
    return True


def servicemonitor_structure(monitor):
    problems = []
    if monitor["apiVersion"] != "monitoring.coreos.com/v1":
        problems.append(f"apiVersion {monitor['apiVersion']}, expected monitoring.coreos.com/v1")
    extra = set(monitor) - {"apiVersion", "kind", "metadata", "spec"}
    if extra:
        problems.append(f"unknown top-level fields {sorted(extra)}")
    spec = monitor.get("spec")
    if not typed_fields("spec", spec, SERVICEMONITOR_SPEC_FIELDS, problems):
        return problems
    for required in ("selector", "endpoints"):
        if required not in spec:
            problems.append(f"spec.{required} is missing")
    endpoints = spec.get("endpoints") or []
    if not endpoints:
        problems.append("spec.endpoints is empty")
    for i, endpoint in enumerate(endpoints):
        where = f"spec.endpoints[{i}]"
        if not typed_fields(where, endpoint, SERVICEMONITOR_ENDPOINT_FIELDS, problems):
            continue
        if ("port" in endpoint) == ("targetPort" in endpoint):
            problems.append(f"{where} needs exactly one of port and targetPort")
        if endpoint.get("scheme", "http") not in ("http", "https"):
            problems.append(f"{where}.scheme must be http or https")
        if "path" in endpoint and not str(endpoint["path"]).startswith("/"):
            problems.append(f"{where}.path must start with /")
        for field in ("interval", "scrapeTimeout"):
            if field in endpoint and not PROMETHEUS_DURATION.match(str(endpoint[field])):
                problems.append(f"{where}.{field} '{endpoint[field]}' is not a Prometheus duration")
        interval = duration_seconds(str(endpoint.get("interval", "30s")))
        timeout = duration_seconds(str(endpoint.get("scrapeTimeout", "10s")))
        if interval is not None and timeout is not None and timeout > interval:
            problems.append(f"{where}.scrapeTimeout is longer than its interval")
        for j, rule in enumerate(endpoint.get("relabelings", []) + endpoint.get("metricRelabelings", [])):
            rwhere = f"{where} relabeling {j}"
            if not typed_fields(rwhere, rule, RELABEL_FIELDS, problems):
                continue
            action = rule.get("action", "replace")
            if action not in RELABEL_ACTIONS:
                problems.append(f"{rwhere}: unknown action {action}")
            if action == "replace" and "targetLabel" not in rule:
                problems.append(f"{rwhere}: replace needs targetLabel")
            if "targetLabel" in rule and not LABEL_NAME.match(rule["targetLabel"]):
                problems.append(f"{rwhere}: targetLabel '{rule['targetLabel']}' is not a label name")
            for label in rule.get("sourceLabels", []):
                if not isinstance(label, str) or not LABEL_NAME.match(label):
                    problems.append(f"{rwhere}: source label {label!r} is not a label name")
    return problems


# MARK: Selectors and labels


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


# MARK: The agent's sources


def read_source(path, check, report):
    """The text of one of the agent's sources, or None with `check` failed."""
    try:
        return path.read_text()
    except OSError as error:
        report.fail(check, f"cannot read {path}: {error}")
        return None


def setting_names(sources, report):
    """The setting names of NodeSettings.definitions, parsed from the Swift sources: the
    array in NodeSettings.swift and the ones it adds from its extensions
    (`eventDefinitions`, `tagDefinitions`)."""
    path = sources / "Sources/HearsayNode/Config/NodeSettings.swift"
    text = read_source(path, "agent settings parsed", report)
    if text is None:
        return None
    for extension in sorted(path.parent.glob("NodeSettings+*.swift")):
        text += "\n" + extension.read_text()
    arrays = re.findall(r"static let \w*[dD]efinitions: \[Definition\] =\s*\[(.*?)\n\s*\]", text, re.S)
    if not arrays:
        report.fail("agent settings parsed", f"no `definitions` array in {path}")
        return None
    names = re.findall(r'name:\s*"([^"]+)"', "\n".join(arrays))
    if len(names) < 10:
        report.fail("agent settings parsed", f"only {len(names)} names found in `definitions`: {names}")
        return None
    report.ok("agent settings parsed")
    return {"HEARSAY_" + n.upper().replace("-", "_") for n in names}


def duration_in_swift(text):
    match = re.fullmatch(r"\.(seconds|milliseconds)\((\d+(?:\.\d+)?)\)", text.strip())
    if not match:
        return None
    value = float(match.group(2))
    return value if match.group(1) == "seconds" else value / 1000


def leave_timeout(sources, report):
    """The engine's leave timeout in seconds, and a check that the agent keeps it."""
    path = sources / "Sources/HearsayCore/Engine/EngineSettings.swift"
    text = read_source(path, "agent leave timeout parsed", report)
    if text is None:
        return None
    match = re.search(r"var leaveTimeout: Duration = ([^\n]+)", text)
    seconds = duration_in_swift(match.group(1)) if match else None
    if seconds is None:
        report.fail("agent leave timeout parsed", f"no `leaveTimeout: Duration = .seconds(N)` in {path}")
        return None
    # The node runtime or the command could set another value; then this test must read that.
    overrides = []
    for swift in sorted((sources / "Sources").rglob("*.swift")):
        if swift == path:
            continue
        for line in swift.read_text().splitlines():
            if re.search(r"\.leaveTimeout\s*=", line):
                overrides.append(f"{swift.relative_to(sources)}: {line.strip()}")
    if overrides:
        report.fail("agent leave timeout parsed", "the default is overridden: " + "; ".join(overrides))
        return None
    report.ok("agent leave timeout parsed")
    return seconds


def rules_job(sources, report):
    """The job name the alert rules select."""
    path = sources / "prometheus/hearsay.rules.yml"
    try:
        jobs = set(re.findall(r'job="([^"]+)"', path.read_text()))
    except OSError as error:
        report.skip("alert rules job parsed", f"cannot read {path}: {error}")
        return None
    if len(jobs) != 1:
        report.fail("alert rules job parsed", f"expected one job name in {path}, found {sorted(jobs)}")
        return None
    report.ok("alert rules job parsed")
    return jobs.pop()


# MARK: The checks


def containers_of(pod_spec):
    return [("init container", c) for c in pod_spec.get("initContainers") or []] + [
        ("container", c) for c in pod_spec.get("containers") or []]


def main_container(pod_spec, report):
    containers = pod_spec.get("containers") or []
    for container in containers:
        if image_name(container.get("image", "")).rsplit("/", 1)[-1] == "hearsay":
            return container
    report.fail("agent container found", "no container runs the hearsay image")
    return None


def env_value(container, configmaps, name):
    """The value `name` has in `container`: env wins over envFrom, as in Kubernetes."""
    for item in container.get("env") or []:
        if item["name"] == name:
            return item.get("value", "(from valueFrom)")
    value = None
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef")
        if ref and ref.get("name") in configmaps:
            prefix = source.get("prefix", "")
            data = configmaps[ref["name"]].get("data") or {}
            for k, v in data.items():
                if prefix + k == name:
                    value = v
    return value


def check_references(pod_spec, configmaps, secrets, report):
    """Every ConfigMap and Secret the pod refers to exists, with the keys referred to."""
    problems = []

    def need(kind, table, name, keys=(), optional=False, where=""):
        if name not in table:
            if not optional:
                problems.append(f"{where} refers to {kind} '{name}', which is not among the manifests")
            return
        data = dict(table[name].get("data") or {})
        data.update(table[name].get("stringData") or {})
        for k in keys:
            if k not in data:
                problems.append(f"{where} refers to key '{k}' of {kind} '{name}', which has no such key")

    for what, container in containers_of(pod_spec):
        where = f"{what} {container['name']}"
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                ref = source["configMapRef"]
                need("ConfigMap", configmaps, ref.get("name"), optional=ref.get("optional", False), where=where)
            if "secretRef" in source:
                ref = source["secretRef"]
                need("Secret", secrets, ref.get("name"), optional=ref.get("optional", False), where=where)
        for item in container.get("env") or []:
            source = item.get("valueFrom") or {}
            if "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                need("ConfigMap", configmaps, ref["name"], [ref["key"]], ref.get("optional", False),
                     f"{where} env {item['name']}")
            if "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                need("Secret", secrets, ref["name"], [ref["key"]], ref.get("optional", False),
                     f"{where} env {item['name']}")
    def need_source(kind, objects, source, name_field, where):
        need(kind, objects, source.get(name_field), [i["key"] for i in source.get("items") or []],
             source.get("optional", False), where)

    for volume in pod_spec.get("volumes") or []:
        where = f"volume {volume['name']}"
        # A volume names its Secret with secretName; a projected source, with name.
        if "secret" in volume:
            need_source("Secret", secrets, volume["secret"], "secretName", where)
        if "configMap" in volume:
            need_source("ConfigMap", configmaps, volume["configMap"], "name", where)
        for projected in (volume.get("projected") or {}).get("sources") or []:
            if "secret" in projected:
                need_source("Secret", secrets, projected["secret"], "name", where)
            if "configMap" in projected:
                need_source("ConfigMap", configmaps, projected["configMap"], "name", where)
    report.check("configmap and secret references exist", problems)


def check_mounts(statefulset, pod_spec, report):
    """Every volume mount names a pod volume or a volumeClaimTemplate, and every one of
    those is mounted somewhere."""
    declared = {v["name"] for v in pod_spec.get("volumes") or []}
    claims = {t["metadata"]["name"] for t in statefulset["spec"].get("volumeClaimTemplates") or []}
    problems = []
    mounted = set()
    for what, container in containers_of(pod_spec):
        for mount in container.get("volumeMounts") or []:
            mounted.add(mount["name"])
            if mount["name"] not in declared | claims:
                problems.append(f"{what} {container['name']} mounts '{mount['name']}', which is no volume")
    for name in sorted((declared | claims) - mounted):
        problems.append(f"volume '{name}' is mounted by no container")
    report.check("volume mounts name declared volumes", problems)


def check_security(statefulset, pod_spec, report):
    pod = pod_spec.get("securityContext") or {}
    report.check("restricted: pod fsGroup", [] if pod.get("fsGroup") == IMAGE_UID else [
        f"fsGroup is {pod.get('fsGroup')}, expected {IMAGE_UID} so the image's user can write the volume"])
    host = [f for f in ("hostNetwork", "hostPID", "hostIPC", "hostUsers") if pod_spec.get(f) is True]
    report.check("restricted: no host namespaces", [f"{f} is true" for f in host])
    volumes = []
    for volume in pod_spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            volumes.append(f"volume {volume['name']} is of type {sorted(kinds)}")
    report.check("restricted: volume types", volumes)
    for what, container in containers_of(pod_spec):
        own = container.get("securityContext") or {}
        name = f"restricted: {what} {container['name']}"

        def effective(field):
            return own[field] if field in own else pod.get(field)

        report.check(f"{name}: runAsNonRoot", [] if effective("runAsNonRoot") is True else [
            f"runAsNonRoot is {effective('runAsNonRoot')}, must be true"])
        report.check(f"{name}: runAsUser", [] if effective("runAsUser") == IMAGE_UID else [
            f"runAsUser is {effective('runAsUser')}, expected the image's uid {IMAGE_UID}"])
        report.check(f"{name}: allowPrivilegeEscalation", [] if own.get("allowPrivilegeEscalation") is False else [
            f"allowPrivilegeEscalation is {own.get('allowPrivilegeEscalation')}, must be false"])
        capabilities = own.get("capabilities") or {}
        cap_problems = []
        if "ALL" not in (capabilities.get("drop") or []):
            cap_problems.append(f"capabilities.drop is {capabilities.get('drop')}, must contain ALL")
        added = set(capabilities.get("add") or [])
        if added - {"NET_BIND_SERVICE"}:
            cap_problems.append(f"capabilities.add {sorted(added)}: restricted allows only NET_BIND_SERVICE")
        if added:
            cap_problems.append("the agent's ports are above 1024 and need no capability")
        report.check(f"{name}: capabilities drop ALL", cap_problems)
        report.check(f"{name}: readOnlyRootFilesystem", [] if own.get("readOnlyRootFilesystem") is True else [
            f"readOnlyRootFilesystem is {own.get('readOnlyRootFilesystem')}, must be true"])
        seccomp = (effective("seccompProfile") or {}).get("type")
        report.check(f"{name}: seccompProfile", [] if seccomp in ("RuntimeDefault", "Localhost") else [
            f"seccompProfile type is {seccomp}, must be RuntimeDefault (or Localhost)"])
        other = []
        if own.get("privileged") is True:
            other.append("privileged is true")
        if own.get("procMount", "Default") != "Default":
            other.append(f"procMount is {own['procMount']}")
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                other.append(f"hostPort {port['hostPort']}")
        report.check(f"{name}: not privileged, no host ports", other)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifests", type=Path, default=REPO / "deploy/kubernetes")
    parser.add_argument("--sources", type=Path, default=REPO)
    args = parser.parse_args(argv)
    report = Report()
    directory = args.manifests

    objects, files = load_manifests(directory, report)
    check_kustomization(directory, files, objects, report)
    check_schemas(objects, report)

    statefulset = the_one(objects, "StatefulSet", report, "statefulset found")
    services = [o for _, o in objects if o["kind"] == "Service"]
    configmaps = {o["metadata"]["name"]: o for _, o in objects if o["kind"] == "ConfigMap"}
    secrets = {o["metadata"]["name"]: o for _, o in objects if o["kind"] == "Secret"}
    settings = setting_names(args.sources, report)
    timeout = leave_timeout(args.sources, report)
    if statefulset is None:
        return finish(report)

    spec = statefulset["spec"]
    template = spec.get("template") or {}
    pod_labels = (template.get("metadata") or {}).get("labels") or {}
    pod_spec = template.get("spec") or {}
    container = main_container(pod_spec, report)

    # The headless Service and the names that hang on it.
    headless = [s for s in services if s["metadata"]["name"] == spec.get("serviceName")]
    if not headless:
        report.fail("statefulset serviceName is the headless service",
                    f"serviceName '{spec.get('serviceName')}' names no Service of the manifests "
                    f"({sorted(s['metadata']['name'] for s in services)})")
        service = None
    else:
        service = headless[0]
        report.check("statefulset serviceName is the headless service",
                     [] if service["spec"].get("clusterIP") == "None" else [
                         f"Service {service['metadata']['name']} has clusterIP "
                         f"{service['spec'].get('clusterIP')!r}, not None (headless)"])
        report.check("service publishNotReadyAddresses",
                     [] if service["spec"].get("publishNotReadyAddresses") is True else [
                         "publishNotReadyAddresses must be true, or the first pod is never found"])
        report.check("service selector matches the pod labels",
                     [] if plain_selector_matches(service["spec"].get("selector"), pod_labels) else [
                         f"selector {service['spec'].get('selector')} does not select pod labels {pod_labels}"])
    report.check("statefulset selector matches the pod labels",
                 [] if selector_matches(spec.get("selector"), pod_labels) else [
                     f"selector {spec.get('selector')} does not select pod labels {pod_labels}"])

    # Ports.
    if container is not None:
        ports = container.get("ports") or []
        found = {(p["containerPort"], p.get("protocol", "TCP")) for p in ports}
        names = [p.get("name") for p in ports]
        problems = []
        if found != EXPECTED_PORTS or len(ports) != len(EXPECTED_PORTS):
            problems.append(f"ports {sorted(found)}, expected {sorted(EXPECTED_PORTS)}")
        if None in names or len(set(names)) != len(names):
            problems.append(f"every port needs a name of its own: {names}")
        report.check("container ports are 7946/UDP, 7946/TCP, 7947/TCP", problems)
        by_name = {p.get("name"): p for p in ports}
        problems = []
        for probe_name, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            probe = container.get(probe_name)
            if not probe:
                problems.append(f"no {probe_name}")
                continue
            get = probe.get("httpGet")
            if not get:
                problems.append(f"{probe_name} is not an httpGet probe")
                continue
            port = get.get("port")
            if not isinstance(port, str) or port not in by_name:
                problems.append(f"{probe_name} port {port!r} is not the name of a container port ({sorted(by_name)})")
            elif by_name[port].get("protocol", "TCP") != "TCP" or by_name[port]["containerPort"] != 7947:
                problems.append(f"{probe_name} port {port} is not the HTTP port 7947/TCP")
            if get.get("path") != path:
                problems.append(f"{probe_name} path {get.get('path')!r}, expected {path}")
        report.check("probes use /readyz and /healthz on a named container port", problems)
        if service is not None:
            problems = []
            service_ports = service["spec"].get("ports") or []
            exposed = {(p["port"], p.get("protocol", "TCP")) for p in service_ports}
            if exposed != EXPECTED_PORTS or len(service_ports) != len(EXPECTED_PORTS):
                problems.append(f"ports {sorted(exposed)}, expected {sorted(EXPECTED_PORTS)}")
            for p in service_ports:
                target = p.get("targetPort", p["port"])
                match = by_name.get(target) if isinstance(target, str) else next(
                    (c for c in ports if c["containerPort"] == target and c.get("protocol", "TCP") == p.get("protocol", "TCP")), None)
                if match is None:
                    problems.append(f"port {p.get('name')} targets {target!r}, which is no container port")
                elif match.get("protocol", "TCP") != p.get("protocol", "TCP"):
                    problems.append(f"port {p.get('name')} is {p.get('protocol', 'TCP')} but targets a "
                                    f"{match.get('protocol', 'TCP')} container port")
            report.check("service exposes the container ports", problems)

    # ConfigMap, Secret and settings.
    check_references(pod_spec, configmaps, secrets, report)
    check_mounts(statefulset, pod_spec, report)
    if container is not None:
        check_settings(container, configmaps, settings, report)
        check_join(container, configmaps, service, report)
        check_data_dir(statefulset, pod_spec, container, configmaps, report)
    check_secret_placeholders(secrets, report)

    # Other objects that select the pods.
    for kind, check_name in (("PodDisruptionBudget", "poddisruptionbudget selector matches the pod labels"),
                             ("NetworkPolicy", "networkpolicy podSelector matches the pod labels")):
        found = [o for _, o in objects if o["kind"] == kind]
        if not found:
            report.fail(check_name, f"no {kind} among the manifests")
            continue
        problems = []
        for obj in found:
            selector = obj["spec"].get("selector" if kind == "PodDisruptionBudget" else "podSelector")
            if not selector_matches(selector, pod_labels):
                problems.append(f"{key(obj)} selector {selector} does not select pod labels {pod_labels}")
        report.check(check_name, problems)
    check_network_policy(objects, pod_labels, report)
    check_servicemonitor(objects, service, rules_job(args.sources, report), report)

    # Security, resources, shutdown.
    check_security(statefulset, pod_spec, report)
    check_resources(pod_spec, report)
    grace = pod_spec.get("terminationGracePeriodSeconds", 30)
    if timeout is not None:
        report.check(
            "terminationGracePeriodSeconds exceeds the leave timeout",
            [] if grace >= timeout + GRACE_MARGIN_SECONDS else [
                f"{grace} s is not at least {GRACE_MARGIN_SECONDS} s more than the agent's {timeout:g} s leave "
                "timeout: the kubelet could kill an agent before its leave has gone out and its log is synced"])
    check_annotations(template, container, report)
    check_namespace(objects, report)
    check_kustomize_build(directory, objects, report)
    return finish(report)


def check_kustomization(directory, files, objects, report):
    path = directory / "kustomization.yaml"
    if not path.exists():
        report.fail("kustomization lists every manifest", f"no {path}")
        return
    try:
        kustomization = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        report.fail("kustomization lists every manifest", str(error).replace("\n", " "))
        return
    problems = []
    if kustomization.get("kind") != "Kustomization" or not str(kustomization.get("apiVersion", "")).startswith(
            "kustomize.config.k8s.io/"):
        problems.append("not a kustomize.config.k8s.io Kustomization")
    listed = kustomization.get("resources") or []
    for resource in listed:
        if not (directory / resource).is_file():
            problems.append(f"lists {resource}, which does not exist")
    unlisted = sorted({p.name for p in files} - set(listed))
    if unlisted:
        problems.append(f"does not list {unlisted}")
    report.check("kustomization lists every manifest", problems)
    # The images: entry must name the image the StatefulSet uses, or it changes nothing.
    images = {i.get("name") for i in kustomization.get("images") or []}
    used = set()
    for _, obj in objects:
        pod_spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        used |= {image_name(c.get("image", "")) for _, c in containers_of(pod_spec)}
    report.check("kustomization images name the agent image",
                 [] if "hearsay" in images and "hearsay" in used else [
                     f"images: names {sorted(images)}, the pods use {sorted(used)}; both need 'hearsay'"])


def image_name(image):
    """`registry/path/name:tag@digest` without tag and digest."""
    image = image.split("@", 1)[0]
    slash = image.rfind("/")
    colon = image.rfind(":")
    return image[:colon] if colon > slash else image


def check_settings(container, configmaps, settings, report):
    if settings is None:
        report.skip("configmap HEARSAY_* names are agent settings", "the agent's settings could not be parsed")
        return
    problems = []
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef")
        if not ref or ref.get("name") not in configmaps:
            continue
        prefix = source.get("prefix", "")
        for k in (configmaps[ref["name"]].get("data") or {}):
            variable = prefix + k
            if not variable.startswith("HEARSAY_"):
                problems.append(f"{variable} is not a HEARSAY_* setting (the agent reads only those)")
            elif variable not in settings:
                problems.append(f"{variable} is no setting of the agent (it would be ignored)")
    report.check("configmap HEARSAY_* names are agent settings", problems)
    problems = []
    for item in container.get("env") or []:
        if item["name"].startswith("HEARSAY_") and item["name"] not in settings:
            problems.append(f"{item['name']} is no setting of the agent (it would be ignored)")
    report.check("container env HEARSAY_* names are agent settings", problems)
    has_key = env_value(container, configmaps, "HEARSAY_KEY") is not None
    has_ring = env_value(container, configmaps, "HEARSAY_KEYRING") is not None
    report.check("exactly one of HEARSAY_KEY and HEARSAY_KEYRING",
                 [] if has_key != has_ring else [
                     "both are set (the agent refuses that)" if has_key else "neither is set (the agent needs a key)"])


def check_join(container, configmaps, service, report):
    join = env_value(container, configmaps, "HEARSAY_JOIN")
    if join is None:
        report.fail("HEARSAY_JOIN names the headless service", "HEARSAY_JOIN is not set")
        return
    if service is None:
        report.fail("HEARSAY_JOIN names the headless service", "there is no headless Service to compare with")
        return
    name = service["metadata"]["name"]
    namespace = service["metadata"].get("namespace")
    problems = []
    matches = []
    for entry in (e.strip() for e in join.split(",") if e.strip()):
        host, _, port = entry.partition(":")
        labels = host.split(".")
        # name, name.namespace, name.namespace.svc, name.namespace.svc.<cluster domain>
        if labels[0] != name or len(labels) >= 2 and namespace and labels[1] != namespace:
            continue
        if len(labels) >= 3 and labels[2] != "svc":
            continue
        if port and port != "7946":
            problems.append(f"{entry}: port {port}, the gossip port is 7946")
        matches.append(entry)
    if not matches:
        problems.append(f"HEARSAY_JOIN '{join}' does not name the headless Service '{name}'")
    report.check("HEARSAY_JOIN names the headless service", problems)


def check_data_dir(statefulset, pod_spec, container, configmaps, report):
    claims = {t["metadata"]["name"] for t in statefulset["spec"].get("volumeClaimTemplates") or []}
    data_dir = env_value(container, configmaps, "HEARSAY_DATA_DIR") or "/var/lib/hearsay"  # the image's
    mounts = {m["mountPath"].rstrip("/"): m for m in container.get("volumeMounts") or []}
    problems = []
    mount = mounts.get(data_dir.rstrip("/"))
    if mount is None:
        problems.append(f"nothing is mounted at the data directory {data_dir}")
    elif mount["name"] not in claims:
        problems.append(f"{data_dir} is volume {mount['name']}, not one of the volumeClaimTemplates {sorted(claims)}")
    elif mount.get("readOnly"):
        problems.append(f"{data_dir} is mounted read-only")
    report.check("data directory is a persistent volume", problems)
    keyring = env_value(container, configmaps, "HEARSAY_KEYRING")
    if keyring is None:
        report.skip("keyring file is writable", "HEARSAY_KEYRING is not set")
        return
    problems = []
    parent = keyring.rsplit("/", 1)[0]
    writable = {path for path, m in mounts.items() if not m.get("readOnly")}
    if parent.rstrip("/") not in writable:
        problems.append(f"{keyring} is not in a writable volume: the agent writes key changes back to it "
                        "(writable mounts: " + ", ".join(sorted(writable)) + ")")
    # Something must put the keyring there before the agent starts: an init container that
    # mounts the same volume at the same path and knows the same path.
    seeded = False
    for init in pod_spec.get("initContainers") or []:
        same_mount = any(m["name"] == (mount or {}).get("name") and m["mountPath"].rstrip("/") == data_dir.rstrip("/")
                         and not m.get("readOnly") for m in init.get("volumeMounts") or [])
        knows_path = env_value(init, configmaps, "HEARSAY_KEYRING") == keyring
        if same_mount and knows_path:
            seeded = True
    if not seeded:
        problems.append("no init container mounts the data volume at the same path with the same HEARSAY_KEYRING")
    report.check("keyring file is writable", problems)


def check_secret_placeholders(secrets, report):
    """The committed Secret must hold placeholders, never a usable key."""
    problems = []
    for name, secret in secrets.items():
        data = dict(secret.get("stringData") or {})
        for k, v in (secret.get("data") or {}).items():
            try:
                data[k] = base64.b64decode(v).decode()
            except (binascii.Error, UnicodeDecodeError):
                problems.append(f"{name}/{k} is not valid base64 text")
        for k, v in data.items():
            candidates = []
            if k.endswith(".json"):
                try:
                    parsed = json.loads(v)
                except json.JSONDecodeError as error:
                    problems.append(f"{name}/{k} is not JSON: {error}")
                    continue
                if not isinstance(parsed, list) or not all(isinstance(x, str) for x in parsed):
                    problems.append(f"{name}/{k} is not a JSON array of strings (a keyring)")
                    continue
                candidates = parsed
            else:
                candidates = [v.strip()]
            for candidate in candidates:
                try:
                    if len(base64.b64decode(candidate, validate=True)) == 32:
                        problems.append(f"{name}/{k} holds what looks like a real 32-byte key; commit placeholders only")
                except (binascii.Error, ValueError):
                    pass
            if "REPLACE" not in v:
                problems.append(f"{name}/{k} is not a placeholder saying REPLACE")
    report.check("secret holds placeholders, no real key", problems)


def check_network_policy(objects, pod_labels, report):
    policies = [o for _, o in objects if o["kind"] == "NetworkPolicy"]
    if not policies:
        report.fail("networkpolicy opens only 7946/UDP, 7946/TCP, 7947/TCP", "no NetworkPolicy")
        return
    problems = []
    opened = set()
    for policy in policies:
        spec = policy["spec"]
        if "Ingress" not in (spec.get("policyTypes") or ["Ingress"]):
            problems.append(f"{key(policy)} does not restrict ingress")
        for i, rule in enumerate(spec.get("ingress") or []):
            ports = rule.get("ports")
            if not ports:
                problems.append(f"{key(policy)} ingress rule {i} opens every port")
                continue
            for port in ports:
                number, protocol = port.get("port"), port.get("protocol", "TCP")
                if not isinstance(number, int) or port.get("endPort"):
                    problems.append(f"{key(policy)} ingress rule {i}: port {number!r} should be one number")
                    continue
                opened.add((number, protocol))
                # Gossip only from the agents themselves.
                if number == 7946:
                    peers = rule.get("from") or []
                    if not peers or not all(p.get("podSelector") is not None and "ipBlock" not in p
                                            and selector_matches(p["podSelector"], pod_labels) for p in peers):
                        problems.append(f"{key(policy)} opens 7946/{protocol} to more than the agents' pods")
    if opened != EXPECTED_PORTS:
        problems.append(f"opens {sorted(opened)}, expected {sorted(EXPECTED_PORTS)}")
    report.check("networkpolicy opens only 7946/UDP, 7946/TCP, 7947/TCP", problems)


def check_servicemonitor(objects, service, job, report):
    monitors = [o for _, o in objects if o["kind"] == "ServiceMonitor"]
    if not monitors:
        report.fail("servicemonitor structure", "no ServiceMonitor among the manifests")
        return
    for monitor in monitors:
        report.check("servicemonitor structure", servicemonitor_structure(monitor))
        spec = monitor.get("spec") or {}
        if service is None:
            report.fail("servicemonitor selects the service", "no headless Service to compare with")
            continue
        labels = service["metadata"].get("labels") or {}
        report.check("servicemonitor selects the service",
                     [] if selector_matches(spec.get("selector"), labels) else [
                         f"selector {spec.get('selector')} does not select Service labels {labels}"])
        names = {p.get("name") for p in service["spec"].get("ports") or []}
        problems = []
        for endpoint in spec.get("endpoints") or []:
            if "port" in endpoint and endpoint["port"] not in names:
                problems.append(f"endpoint port {endpoint['port']!r} is not a port of the Service ({sorted(names)})")
            if "port" in endpoint and endpoint["port"] in names:
                number = next(p["port"] for p in service["spec"]["ports"] if p.get("name") == endpoint["port"])
                if number != 7947:
                    problems.append(f"endpoint port {endpoint['port']} is {number}, /metrics is on 7947")
            if endpoint.get("path", "/metrics") != "/metrics":
                problems.append(f"endpoint path {endpoint.get('path')}, the agent serves /metrics")
        report.check("servicemonitor names a port of the service", problems)
        if job is None:
            report.skip("servicemonitor job is the alert rules' job", "the rules' job could not be read")
            continue
        label = spec.get("jobLabel")
        produced = labels.get(label) if label else service["metadata"]["name"]
        report.check("servicemonitor job is the alert rules' job", [] if produced == job else [
            f"targets get job={produced!r} but prometheus/hearsay.rules.yml selects job={job!r}"])


def check_resources(pod_spec, report):
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3, "": 1}

    def quantity(text):
        match = re.fullmatch(r"([0-9.]+)([KMG]i?|m)?", str(text))
        return float(match.group(1)) * units[match.group(2) or ""] if match else None

    for what, container in containers_of(pod_spec):
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        problems = []
        for field in ("cpu", "memory"):
            if field not in requests:
                problems.append(f"no {field} request")
        if "memory" not in limits:
            problems.append("no memory limit")
        for field in set(requests) & set(limits):
            r, l = quantity(requests[field]), quantity(limits[field])
            if r is None or l is None:
                problems.append(f"{field}: cannot read {requests[field]} or {limits[field]}")
            elif r > l:
                problems.append(f"{field} request {requests[field]} is above its limit {limits[field]}")
        report.check(f"resources: {what} {container['name']}", problems)


def check_annotations(template, container, report):
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    problems = []
    if annotations.get("prometheus.io/scrape") != "true":
        problems.append("prometheus.io/scrape is not \"true\"")
    http = next((p["containerPort"] for p in (container or {}).get("ports") or [] if p.get("name") == "http"), None)
    if annotations.get("prometheus.io/port") != str(http):
        problems.append(f"prometheus.io/port is {annotations.get('prometheus.io/port')!r}, the http port is {http}")
    if annotations.get("prometheus.io/path", "/metrics") != "/metrics":
        problems.append(f"prometheus.io/path is {annotations['prometheus.io/path']}")
    report.check("prometheus.io annotations on the pods", problems)


def check_namespace(objects, report):
    namespaces = [o for _, o in objects if o["kind"] == "Namespace"]
    if not namespaces:
        report.skip("namespace enforces pod-security restricted", "the manifests include no Namespace")
        return
    problems = []
    for namespace in namespaces:
        labels = namespace["metadata"].get("labels") or {}
        if labels.get("pod-security.kubernetes.io/enforce") != "restricted":
            problems.append(f"{key(namespace)} lacks pod-security.kubernetes.io/enforce: restricted")
    report.check("namespace enforces pod-security restricted", problems)


def check_kustomize_build(directory, objects, report):
    """`kubectl kustomize` renders the directory offline; optional, since the test must
    not need kubectl."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        report.skip("kustomize build", "kubectl is not installed (the other checks do not need it)")
        return
    try:
        result = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        report.fail("kustomize build", str(error))
        return
    if result.returncode != 0:
        report.fail("kustomize build", result.stderr.strip().replace("\n", " ")[:500])
        return
    rendered = [d for d in yaml.safe_load_all(result.stdout) if d]
    problems = []
    if sorted(key(o) for o in rendered) != sorted(key(o) for _, o in objects):
        problems.append(f"renders {sorted(key(o) for o in rendered)}, the files hold {sorted(key(o) for _, o in objects)}")
    for obj in rendered:
        if obj["kind"] != "Namespace" and not obj["metadata"].get("namespace"):
            problems.append(f"{key(obj)} has no namespace after kustomize")
    report.check("kustomize build", problems)


def finish(report):
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
