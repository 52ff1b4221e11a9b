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
import sys
from pathlib import Path
from k8s_common import (
    EXPECTED_PORTS,
    GRACE_MARGIN_SECONDS,
    REPO,
    Report,
    key,
    load_manifests,
    plain_selector_matches,
    selector_matches,
    the_one,
)
from k8s_schemas import check_schemas
from k8s_sources import leave_timeout, rules_job, setting_names
from k8s_pods import (
    check_annotations,
    check_data_dir,
    check_join,
    check_mounts,
    check_references,
    check_resources,
    check_security,
    check_settings,
    main_container,
)
from k8s_objects import (
    check_kustomization,
    check_kustomize_build,
    check_namespace,
    check_network_policy,
    check_secret_placeholders,
    check_servicemonitor,
)


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


def finish(report):
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
