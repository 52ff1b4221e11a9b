"""The objects around the pod: kustomization, Secret placeholders, NetworkPolicy,
ServiceMonitor, namespace, and a kustomize build (kubernetes_test.py runs the checks)."""

import base64
import binascii
import json
import shutil
import subprocess

from k8s_common import yaml
from k8s_common import EXPECTED_PORTS, containers_of, image_name, key, selector_matches
from k8s_schemas import servicemonitor_structure


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
