"""Cross-references inside a rendered overlay that no schema checks: a Deployment naming a
ConfigMap, Secret or key that is not there, a Service or policy selecting no pod, a probe or
Service port naming no container port, an autoscaler aiming at nothing. Each would apply
cleanly and fail at run time, or silently do nothing.

`broken_references(resources, external_secrets)` returns one line per problem; [] if none.
`external_secrets` maps the names of Secrets the overlay expects to exist (documented, created
by the operator) to their keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Resource = dict[str, Any]
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}
VARIABLE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def name(resource: Resource) -> str:
    return str(resource["metadata"]["name"])


def label(resource: Resource) -> str:
    return f"{resource['kind']}/{name(resource)}"


def pod_templates(resources: list[Resource]) -> Iterator[tuple[Resource, dict[str, Any]]]:
    for resource in resources:
        if resource["kind"] in WORKLOADS:
            yield resource, resource["spec"]["template"]
        elif resource["kind"] == "CronJob":
            yield resource, resource["spec"]["jobTemplate"]["spec"]["template"]


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod["spec"]
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def keys_of(resources: list[Resource], kind: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for resource in resources:
        if resource["kind"] == kind:
            fields = ("data", "binaryData", "stringData")
            out[name(resource)] = {key for f in fields for key in resource.get(f) or {}}
    return out


def check_ref(
    found: dict[str, set[str]], kind: str, ref: dict[str, Any], key: str | None, where: str
) -> list[str]:
    if ref.get("optional"):
        return []
    if ref.get("name") not in found:
        return [f"{where}: {kind} {ref.get('name')!r} does not exist"]
    if key is not None and key not in found[ref["name"]]:
        return [f"{where}: {kind} {ref['name']!r} has no key {key!r}"]
    return []


def container_problems(
    container: dict[str, Any],
    volumes: set[str],
    config_maps: dict[str, set[str]],
    secrets: dict[str, set[str]],
    where: str,
) -> list[str]:
    problems: list[str] = []
    defined: set[str] = set()
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            ref = source["configMapRef"]
            problems += check_ref(config_maps, "ConfigMap", ref, None, where)
            defined |= config_maps.get(ref.get("name"), set())
        if "secretRef" in source:
            ref = source["secretRef"]
            problems += check_ref(secrets, "Secret", ref, None, where)
            defined |= secrets.get(ref.get("name"), set())
    for variable in container.get("env", []):
        source = variable.get("valueFrom", {})
        if "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            problems += check_ref(config_maps, "ConfigMap", ref, ref.get("key"), where)
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            problems += check_ref(secrets, "Secret", ref, ref.get("key"), where)
        # $(VAR) expands only variables defined before it; anything else stays literal.
        for used in VARIABLE.findall(str(variable.get("value", ""))):
            if used not in defined:
                problems.append(f"{where}: env {variable['name']} uses undefined $({used})")
        defined.add(variable["name"])
    for word in [*container.get("command", []), *container.get("args", [])]:
        for used in VARIABLE.findall(str(word)):
            if used not in defined:
                problems.append(f"{where}: command uses undefined $({used})")
    for mount in container.get("volumeMounts", []):
        if mount["name"] not in volumes:
            problems.append(f"{where}: mounts volume {mount['name']!r} the pod does not have")
    ports = {port.get("name") for port in container.get("ports", [])}
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        action = container.get(probe_name, {}).get("httpGet") or {}
        port = action.get("port")
        if isinstance(port, str) and port not in ports:
            problems.append(f"{where}: {probe_name} names no container port {port!r}")
    return problems


def pod_problems(
    owner: Resource,
    pod: dict[str, Any],
    config_maps: dict[str, set[str]],
    secrets: dict[str, set[str]],
    accounts: set[str],
    claims: set[str],
) -> list[str]:
    where = label(owner)
    spec = pod["spec"]
    problems: list[str] = []
    volumes = {volume["name"] for volume in spec.get("volumes", [])}
    for volume in spec.get("volumes", []):
        if "configMap" in volume:
            problems += check_ref(config_maps, "ConfigMap", volume["configMap"], None, where)
            for item in volume["configMap"].get("items", []):
                problems += check_ref(
                    config_maps, "ConfigMap", volume["configMap"], item["key"], where
                )
        if "secret" in volume:
            ref = {"name": volume["secret"].get("secretName"), **volume["secret"]}
            problems += check_ref(secrets, "Secret", ref, None, where)
        if "persistentVolumeClaim" in volume:
            claim = volume["persistentVolumeClaim"]["claimName"]
            if claim not in claims:
                problems.append(f"{where}: PersistentVolumeClaim {claim!r} does not exist")
    account = spec.get("serviceAccountName", "default")
    if account != "default" and account not in accounts:
        problems.append(f"{where}: ServiceAccount {account!r} does not exist")
    for container in containers(pod):
        problems += container_problems(
            container, volumes, config_maps, secrets, f"{where} container {container['name']}"
        )
    return problems


def selected_pods(
    resources: list[Resource], selector: dict[str, str]
) -> list[tuple[Resource, dict[str, Any]]]:
    return [
        (owner, pod)
        for owner, pod in pod_templates(resources)
        if selects(selector, pod["metadata"].get("labels", {}))
    ]


def port_names(pods: list[tuple[Resource, dict[str, Any]]]) -> set[str]:
    return {
        port["name"]
        for _, pod in pods
        for container in pod["spec"]["containers"]
        for port in container.get("ports", [])
        if "name" in port
    }


def service_problems(resources: list[Resource]) -> list[str]:
    problems: list[str] = []
    for service in (r for r in resources if r["kind"] == "Service"):
        pods = selected_pods(resources, service["spec"].get("selector", {}))
        if not pods:
            problems.append(f"{label(service)}: selects no pod")
            continue
        for port in service["spec"].get("ports", []):
            target = port.get("targetPort")
            if isinstance(target, str) and target not in port_names(pods):
                problems.append(f"{label(service)}: targetPort {target!r} names no pod port")
    return problems


def target_problems(resources: list[Resource]) -> list[str]:
    problems: list[str] = []
    present = {(r["kind"], name(r)) for r in resources}
    for resource in resources:
        if resource["kind"] in ("HorizontalPodAutoscaler", "ScaledObject"):
            target = resource["spec"]["scaleTargetRef"]
            if (target.get("kind", "Deployment"), target["name"]) not in present:
                problems.append(f"{label(resource)}: scales {target['name']!r}, not here")
        if resource["kind"] == "PodDisruptionBudget":
            selector = resource["spec"]["selector"].get("matchLabels", {})
            if not selected_pods(resources, selector):
                problems.append(f"{label(resource)}: selects no pod")
        if resource["kind"] == "NetworkPolicy":
            selector = resource["spec"]["podSelector"].get("matchLabels", {})
            pods = selected_pods(resources, selector)
            if selector and not pods:
                problems.append(f"{label(resource)}: selects no pod")
            for rule in resource["spec"].get("ingress", []):
                for port in rule.get("ports", []):
                    named = port.get("port")
                    if selector and isinstance(named, str) and named not in port_names(pods):
                        problems.append(f"{label(resource)}: port {named!r} names no pod port")
    return problems


def monitor_problems(resources: list[Resource]) -> list[str]:
    problems: list[str] = []
    services = [r for r in resources if r["kind"] == "Service"]
    for monitor in (r for r in resources if r["kind"] == "ServiceMonitor"):
        selector = monitor["spec"]["selector"].get("matchLabels", {})
        matched = [s for s in services if selects(selector, s["metadata"].get("labels", {}))]
        if not matched:
            problems.append(f"{label(monitor)}: selects no Service")
            continue
        ports = {p.get("name") for s in matched for p in s["spec"].get("ports", [])}
        for endpoint in monitor["spec"].get("endpoints", []):
            if "port" in endpoint and endpoint["port"] not in ports:
                problems.append(f"{label(monitor)}: port {endpoint['port']!r} not on its Service")
    return problems


def broken_references(
    resources: list[Resource], external_secrets: dict[str, set[str]] | None = None
) -> list[str]:
    config_maps = keys_of(resources, "ConfigMap")
    secrets = {**(external_secrets or {}), **keys_of(resources, "Secret")}
    accounts = {name(r) for r in resources if r["kind"] == "ServiceAccount"}
    claims = {name(r) for r in resources if r["kind"] == "PersistentVolumeClaim"}
    problems: list[str] = []
    for owner, pod in pod_templates(resources):
        problems += pod_problems(owner, pod, config_maps, secrets, accounts, claims)
    return (
        problems
        + service_problems(resources)
        + target_problems(resources)
        + monitor_problems(resources)
    )
