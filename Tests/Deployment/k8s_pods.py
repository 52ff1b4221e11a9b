"""The StatefulSet's pod: its container, references, mounts, security context,
settings, join, data directory, resources and annotations (kubernetes_test.py runs
the checks)."""

import re
from k8s_common import IMAGE_UID, RESTRICTED_VOLUME_TYPES, containers_of, image_name


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
