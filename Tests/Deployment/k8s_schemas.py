"""The manifests against the Kubernetes JSON schemas, and the ServiceMonitor against
the Prometheus Operator's fields (kubernetes_test.py runs the checks)."""

import re
from k8s_common import OLDEST_KUBERNETES, key


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
