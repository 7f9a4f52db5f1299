"""No overlay refers to a ConfigMap, Secret, key, port, pod or workload that is not there, and
the checks would notice if one did: each is shown failing on a deliberately broken copy."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes_validate.utils import ValidationError, validate

from tests.deploy import crds
from tests.deploy.conftest import Overlay
from tests.deploy.references import broken_references
from tests.deploy.tools import KUBERNETES_VERSION

pytestmark = pytest.mark.deploy
Resources = list[dict[str, Any]]


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_overlay_references_resolve(name: str, overlays: dict[str, Overlay]) -> None:
    overlay = overlays[name]
    assert broken_references(overlay.resources, overlay.external_secrets) == []


def first(resources: Resources, kind: str, name: str) -> dict[str, Any]:
    return next(r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name)


def container(resources: Resources, deployment: str = "mitl-ingest") -> dict[str, Any]:
    return first(resources, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]


def drop_config_map(resources: Resources) -> None:
    resources[:] = [
        r
        for r in resources
        if not (r["kind"] == "ConfigMap" and r["metadata"]["name"].startswith("mitl-env-"))
    ]


def misname_secret(resources: Resources) -> None:
    (password,) = [e for e in container(resources)["env"] if e["name"] == "PGPASSWORD"]
    password["valueFrom"]["secretKeyRef"]["name"] = "mitl-postgress"


def wrong_secret_key(resources: Resources) -> None:
    (password,) = [e for e in container(resources)["env"] if e["name"] == "PGPASSWORD"]
    password["valueFrom"]["secretKeyRef"]["key"] = "passwd"


def wrong_config_map_key(resources: Resources) -> None:
    init = first(resources, "Deployment", "mitl-router")["spec"]["template"]["spec"]
    init["initContainers"][0]["env"][0]["valueFrom"]["configMapKeyRef"]["key"] = "partition"


def misname_volume_config_map(resources: Resources) -> None:
    pod = first(resources, "Deployment", "mitl-audit")["spec"]["template"]["spec"]
    (datasets,) = [v for v in pod["volumes"] if "configMap" in v]
    datasets["configMap"]["name"] = "mitl-dataset"


def unmounted_volume(resources: Resources) -> None:
    container(resources)["volumeMounts"].append({"name": "cache", "mountPath": "/cache"})


def probe_on_missing_port(resources: Resources) -> None:
    container(resources)["readinessProbe"]["httpGet"]["port"] = "metrics"


def service_selects_nothing(resources: Resources) -> None:
    service = first(resources, "Service", "mitl-review-api")
    service["spec"]["selector"]["app.kubernetes.io/component"] = "review"


def scale_missing_target(resources: Resources) -> None:
    first(resources, "ScaledObject", "mitl-router")["spec"]["scaleTargetRef"]["name"] = "router"


def monitor_wrong_port(resources: Resources) -> None:
    first(resources, "ServiceMonitor", "mitl-drift-monitor")["spec"]["endpoints"][0]["port"] = "web"


def missing_claim(resources: Resources) -> None:
    resources[:] = [r for r in resources if r["kind"] != "PersistentVolumeClaim"]


def undefined_variable(resources: Resources) -> None:
    init = first(resources, "Job", "mitl-topics")["spec"]["template"]["spec"]["containers"][0]
    init["command"][-1] = "$(MITL_PARTITIONS)"


BREAKAGES: dict[str, tuple[Callable[[Resources], None], str]] = {
    "missing ConfigMap": (drop_config_map, "ConfigMap 'mitl-env-"),
    "misnamed Secret": (misname_secret, "Secret 'mitl-postgress' does not exist"),
    "missing Secret key": (wrong_secret_key, "has no key 'passwd'"),
    "missing ConfigMap key": (wrong_config_map_key, "has no key 'partition'"),
    "misnamed ConfigMap volume": (misname_volume_config_map, "'mitl-dataset' does not exist"),
    "mount of no volume": (unmounted_volume, "volume 'cache' the pod does not have"),
    "probe on no port": (probe_on_missing_port, "readinessProbe names no container port"),
    "Service selecting nothing": (service_selects_nothing, "Service/mitl-review-api: selects"),
    "autoscaler without target": (scale_missing_target, "scales 'router', not here"),
    "ServiceMonitor on no port": (monitor_wrong_port, "port 'web' not on its Service"),
    "undefined $(VAR)": (undefined_variable, "undefined $(MITL_PARTITIONS)"),
    "missing volume claim": (missing_claim, "PersistentVolumeClaim 'mitl-artifacts' does not"),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
@pytest.mark.parametrize("name", ["dev", "prod"])
def test_a_broken_reference_is_caught(
    name: str, breakage: str, overlays: dict[str, Overlay]
) -> None:
    overlay = overlays[name]
    resources = copy.deepcopy(overlay.resources)
    breaks, message = BREAKAGES[breakage]
    breaks(resources)
    problems = broken_references(resources, overlay.external_secrets)
    assert any(message in problem for problem in problems), problems


def test_prod_needs_its_external_secret_documented(overlays: dict[str, Overlay]) -> None:
    problems = broken_references(overlays["prod"].resources, external_secrets={})
    assert any("Secret 'mitl-postgres' does not exist" in p for p in problems), problems


def test_a_misspelled_field_fails_strict_validation(overlays: dict[str, Overlay]) -> None:
    deployment = copy.deepcopy(first(overlays["dev"].resources, "Deployment", "mitl-ingest"))
    validate(deployment, KUBERNETES_VERSION, strict=True)
    probe = deployment["spec"]["template"]["spec"]["containers"][0].pop("readinessProbe")
    deployment["spec"]["template"]["spec"]["containers"][0]["readynessProbe"] = probe
    with pytest.raises(ValidationError, match="readynessProbe"):
        validate(deployment, KUBERNETES_VERSION, strict=True)


def test_a_wrong_custom_resource_fails_its_crd(overlays: dict[str, Overlay]) -> None:
    scaled = copy.deepcopy(first(overlays["dev"].resources, "ScaledObject", "mitl-inference"))
    assert crds.errors(scaled) == []
    scaled["spec"]["maxReplicas"] = scaled["spec"].pop("maxReplicaCount")
    scaled["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 500
    problems = crds.errors(scaled)
    assert any("maxReplicas" in p for p in problems), problems
    assert any("lagThreshold" in p for p in problems), problems
    monitor = copy.deepcopy(first(overlays["dev"].resources, "ServiceMonitor", "mitl-ingest"))
    monitor["spec"]["endpoints"][0]["interval"] = "30 seconds"
    del monitor["spec"]["selector"]
    problems = crds.errors(monitor)
    assert any("interval" in p for p in problems) and any("selector" in p for p in problems)
