"""deploy/services.yaml as objects, checked before anything is rendered from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "deploy" / "services.yaml"
Doc = dict[str, Any]
# The datasets file and the guideline Markdown files it names (relative to it, under
# guidelines/): mounted together at the services' config directory.
CONFIG = ROOT / "config"


def config_files() -> dict[str, str]:
    """Each config file a service reads, by its path under the config directory, with the
    key it has in the `mitl-datasets` ConfigMap (keys cannot hold '/')."""
    files = {"datasets.yaml": "datasets.yaml"}
    for guide in sorted((CONFIG / "guidelines").glob("*.md")):
        files[f"guidelines/{guide.name}"] = f"guidelines.{guide.name}"
    return files


@dataclass(frozen=True)
class Service:
    name: str
    command: str
    settings: str
    port: int
    size: str
    env: dict[str, str] = field(default_factory=dict)
    volumes: tuple[str, ...] = ()
    http_clients: bool = False
    # Takes the static tokens and OIDC settings of `access` (mitl_deploy.access); "oidc": the
    # OIDC settings only (review-api: its people sign in; it has no static tokens).
    guarded: bool | str = False
    replicas: dict[str, int] | None = None
    scale: dict[str, Any] | None = None

    @property
    def resource(self) -> str:
        """Name of its Kubernetes objects and of its Prometheus job."""
        return f"mitl-{self.name}"

    @property
    def selector(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": "mitl", "app.kubernetes.io/component": self.name}

    @property
    def labels(self) -> dict[str, str]:
        return {**self.selector, "app.kubernetes.io/part-of": "mitl"}

    def document(self, api_version: str, kind: str, spec: Doc) -> Doc:
        """A Kubernetes object of the service: named after it and labelled as all its are."""
        return {
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {"name": self.resource, "labels": self.labels},
            "spec": spec,
        }

    @property
    def scaled_by(self) -> str | None:
        return None if self.scale is None else str(self.scale["by"])

    @property
    def consumer_group(self) -> str:
        """The group ServiceRuntime.subscribe names by default for the scaled topic."""
        assert self.scale is not None
        return f"mitl-{self.name}.{self.scale['topic'].removeprefix('mitl.')}"


@dataclass(frozen=True)
class Catalog:
    raw: Doc
    services: tuple[Service, ...]

    @property
    def volumes(self) -> dict[str, Doc]:
        """Shared writable volumes by name: {path, size}."""
        return dict(self.raw.get("volumes") or {})

    def size(self, env: str, name: str) -> Doc:
        return dict(self.raw["sizes"][env][name])

    @property
    def partitions(self) -> dict[str, int]:
        return dict(self.raw["partitions"])

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)


def load_catalog(path: Path = CATALOG) -> Catalog:
    raw = yaml.safe_load(path.read_text())
    services = tuple(
        Service(name=name, **{**entry, "volumes": tuple(entry.get("volumes", ()))})
        for name, entry in raw["services"].items()
    )
    catalog = Catalog(raw, services)
    check(catalog)
    return catalog


def check(catalog: Catalog) -> None:
    """Refuse a catalog that would render something wrong; raise ValueError saying what."""
    ports = [s.port for s in catalog.services]
    if len(set(ports)) != len(ports):
        raise ValueError(f"two services share a port: {ports}")
    for service in catalog.services:
        if (service.replicas is None) == (service.scale is None):
            raise ValueError(f"{service.name}: give exactly one of replicas or scale")
        for volume in service.volumes:
            if volume not in catalog.volumes:
                raise ValueError(f"{service.name}: no volume {volume!r} under volumes")
        for env, sizes in catalog.raw["sizes"].items():
            if service.size not in sizes:
                raise ValueError(f"{service.name}: no size {service.size!r} in sizes.{env}")
        if service.scale is not None:
            check_scale(service, catalog.partitions)


def check_scale(service: Service, partitions: dict[str, int]) -> None:
    assert service.scale is not None
    if service.scaled_by not in ("kafka-lag", "cpu"):
        raise ValueError(f"{service.name}: cannot scale by {service.scaled_by!r}")
    if service.scaled_by == "kafka-lag":
        from mitl_contracts import topics

        if service.scale["topic"] not in topics.ALL:
            raise ValueError(f"{service.name}: no topic {service.scale['topic']!r}")
    for env, count in partitions.items():
        low, high = service.scale[env]
        if not 1 <= low <= high:
            raise ValueError(f"{service.name}: scale.{env} must be [min, max], 1 <= min <= max")
        # A consumer group has at most one active member per partition.
        if service.scaled_by == "kafka-lag" and high > count:
            raise ValueError(f"{service.name}: {high} replicas > {count} partitions ({env})")
