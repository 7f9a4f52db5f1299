"""Every overlay, rendered by kustomize, is valid Kubernetes (strict, against the stated
version, custom resources against their CRDs) and carries the platform's rules: restricted
pods, probes, resources, autoscaling within the partitions, pinned images in prod."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from mitl_deploy.catalog import Catalog

from tests.deploy import crds, tools
from tests.deploy.conftest import Overlay
from tests.deploy.references import containers, pod_templates

pytestmark = pytest.mark.deploy
OVERLAY_NAMES = ["dev", "prod"]


@pytest.mark.parametrize("name", OVERLAY_NAMES)
def test_overlay_is_valid_kubernetes(
    name: str, overlays: dict[str, Overlay], tmp_path: Path
) -> None:
    rendered = tmp_path / f"{name}.yaml"
    rendered.write_text(overlays[name].text)
    result = tools.kubernetes_validate(rendered)
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and not [line for line in lines if "ERROR" in line], lines
    # kubernetes-validate only warns about kinds it has no schema for: those must be the
    # custom resources checked against their CRDs below, nothing else.
    unknown = {line.split("kind ")[1].split()[0] for line in lines if line.startswith("WARN")}
    assert unknown <= crds.crd_kinds(), unknown


@pytest.mark.parametrize("name", OVERLAY_NAMES)
def test_custom_resources_match_their_crds(name: str, overlays: dict[str, Overlay]) -> None:
    custom = [r for r in overlays[name].resources if r["kind"] in crds.crd_kinds()]
    assert {r["kind"] for r in custom} == crds.crd_kinds()
    problems = [problem for resource in custom for problem in crds.errors(resource)]
    assert not problems, problems


def test_crds_are_valid_kubernetes() -> None:
    result = tools.kubernetes_validate(*sorted(crds.SCHEMAS.glob("*.yaml")))
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout


@pytest.mark.parametrize("name", OVERLAY_NAMES)
def test_every_pod_meets_the_restricted_standard(name: str, overlays: dict[str, Overlay]) -> None:
    for owner, pod in pod_templates(overlays[name].resources):
        where = f"{name} {owner['kind']}/{owner['metadata']['name']}"
        spec = pod["spec"]
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), where
        assert spec.get("automountServiceAccountToken") is False, where
        for container in containers(pod):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert not context.get("capabilities", {}).get("add"), where
            for kind in ("requests", "limits"):
                assert set(container["resources"][kind]) >= {"cpu", "memory"}, where


@pytest.mark.parametrize("name", OVERLAY_NAMES)
def test_mitl_pods_are_read_only_with_a_tmp_volume(name: str, overlays: dict[str, Overlay]) -> None:
    mitl = [
        (owner, pod)
        for owner, pod in pod_templates(overlays[name].resources)
        if pod["metadata"]["labels"].get("app.kubernetes.io/part-of") == "mitl"
    ]
    assert mitl
    for owner, pod in mitl:
        empty_dirs = {v["name"] for v in pod["spec"]["volumes"] if "emptyDir" in v}
        for container in containers(pod):
            where = f"{owner['metadata']['name']}/{container['name']}"
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, where
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp and tmp[0]["name"] in empty_dirs, where


@pytest.mark.parametrize("name", OVERLAY_NAMES)
def test_each_service_is_deployed_probed_budgeted_and_scraped(
    name: str, catalog: Catalog, overlays: dict[str, Overlay]
) -> None:
    overlay = overlays[name]
    for service in catalog.services:
        deployment = overlay.get("Deployment", service.resource)
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        (port,) = container["ports"]
        assert (port["name"], port["containerPort"]) == ("http", service.port)
        assert overlay.get("Service", service.resource)["spec"]["ports"][0]["port"] == service.port
        assert overlay.get("PodDisruptionBudget", service.resource)
        assert overlay.get("ServiceMonitor", service.resource)
        policy = overlay.get("NetworkPolicy", service.resource)["spec"]
        assert policy["policyTypes"] == ["Ingress", "Egress"]
        assert [rule["ports"] for rule in policy["ingress"]] == [
            [{"protocol": "TCP", "port": "http"}]
        ]
        egress_ports = {p["port"] for rule in policy["egress"] for p in rule["ports"]}
        assert egress_ports == {53, catalog.raw["kafka"]["port"], catalog.raw["postgres"]["port"]}
    deny = overlay.get("NetworkPolicy", "mitl-default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert overlay.get("Job", "mitl-topics")


def test_shared_volumes_are_claims_many_pods_can_mount(
    catalog: Catalog, overlays: dict[str, Overlay]
) -> None:
    for name in catalog.volumes:
        assert overlays["prod"].get("PersistentVolumeClaim", f"mitl-{name}")["spec"][
            "accessModes"
        ] == ["ReadWriteMany"]
        assert overlays["dev"].get("PersistentVolumeClaim", f"mitl-{name}")["spec"][
            "accessModes"
        ] == ["ReadWriteOnce"]


@pytest.mark.parametrize("name", OVERLAY_NAMES)
def test_autoscaling_stays_within_the_partitions(
    name: str, catalog: Catalog, overlays: dict[str, Overlay]
) -> None:
    overlay = overlays[name]
    partitions = int(overlay.config_map("mitl-topics")["data"]["partitions"])
    for service in catalog.services:
        deployment = overlay.get("Deployment", service.resource)
        if service.scaled_by is None:
            assert deployment["spec"]["replicas"] >= 1
            continue
        # The autoscaler owns the count: a Deployment that states one would fight it.
        assert "replicas" not in deployment["spec"], service.name
        if service.scaled_by == "cpu":
            hpa = overlay.get("HorizontalPodAutoscaler", service.resource)["spec"]
            assert hpa["scaleTargetRef"]["name"] == service.resource
            continue
        scaled = overlay.get("ScaledObject", service.resource)["spec"]
        assert scaled["scaleTargetRef"]["name"] == service.resource
        assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"] <= partitions
        (trigger,) = scaled["triggers"]
        assert trigger["type"] == "kafka"
        assert trigger["metadata"]["consumerGroup"] == service.consumer_group
        assert trigger["metadata"]["topic"] == service.scale["topic"]  # type: ignore[index]
        env_names = {
            e["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        env_names |= set(overlay.config_map("mitl-env")["data"])
        assert trigger["metadata"]["bootstrapServersFromEnv"] in env_names


def test_prod_pins_its_images(overlays: dict[str, Overlay]) -> None:
    for owner, pod in pod_templates(overlays["prod"].resources):
        for container in containers(pod):
            image = container["image"]
            where = f"{owner['metadata']['name']}/{container['name']}: {image}"
            if "@sha256:" in image:
                continue
            tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
            assert tag and tag not in {"latest", "local", "dev", "main"}, where


def test_prod_is_bigger_than_dev(catalog: Catalog, overlays: dict[str, Overlay]) -> None:
    dev, prod = overlays["dev"], overlays["prod"]
    for service in (s for s in catalog.services if s.replicas):
        assert (
            prod.get("Deployment", service.resource)["spec"]["replicas"]
            > dev.get("Deployment", service.resource)["spec"]["replicas"]
        )

    def partitions(overlay: Overlay) -> int:
        return int(overlay.config_map("mitl-topics")["data"]["partitions"])

    assert partitions(prod) > partitions(dev)


def test_prod_documents_the_secrets_it_needs(overlays: dict[str, Overlay]) -> None:
    prod = overlays["prod"]
    assert "mitl-postgres" in prod.external_secrets
    assert not prod.of_kind("Secret"), "prod must reference Secrets, not carry them"
    listed = yaml.safe_load(
        (tools.ROOT / "deploy" / "k8s" / "overlays" / "prod" / "external-secrets.yaml").read_text()
    )
    assert all(entry.get("description") for entry in listed)
