"""Fixtures of the deploy tests: the catalog, every overlay rendered once, compose's model.

They run offline with the real tools (tests/deploy/tools.py) and need no broker, database or
Docker engine; the whole folder takes a few seconds.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy import tools

sys.path.insert(0, str(tools.ROOT / "deploy"))

from mitl_deploy.catalog import Catalog, load_catalog

OVERLAYS = tools.ROOT / "deploy" / "k8s" / "overlays"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "deploy: offline validation of Dockerfile, compose and Kubernetes files"
    )


@dataclass(frozen=True)
class Overlay:
    name: str
    text: str
    resources: list[dict[str, Any]]
    external_secrets: dict[str, set[str]]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        matches = [r for r in self.of_kind(kind) if r["metadata"]["name"] == name]
        assert matches, f"{self.name}: no {kind}/{name}"
        return matches[0]

    def config_map(self, prefix: str) -> dict[str, Any]:
        """A generated ConfigMap by its name before kustomize's hash suffix."""
        matches = [
            r for r in self.of_kind("ConfigMap") if r["metadata"]["name"].startswith(prefix + "-")
        ]
        assert len(matches) == 1, f"{self.name}: ConfigMap {prefix}: {matches}"
        return matches[0]


def external_secrets(directory: Path) -> dict[str, set[str]]:
    path = directory / "external-secrets.yaml"
    if not path.exists():
        return {}
    return {entry["name"]: set(entry["keys"]) for entry in yaml.safe_load(path.read_text())}


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def overlays() -> dict[str, Overlay]:
    """Every overlay under deploy/k8s/overlays, rendered by kubectl's kustomize."""
    out = {}
    for directory in sorted(p for p in OVERLAYS.iterdir() if p.is_dir()):
        text = tools.kustomize(directory)
        out[directory.name] = Overlay(
            directory.name, text, tools.documents(text), external_secrets(directory)
        )
    assert {"dev", "prod"} <= set(out)
    return out


@pytest.fixture(scope="session")
def docker_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("docker-config")


@pytest.fixture(scope="session")
def compose_model(docker_config: Path) -> dict[str, Any]:
    return tools.compose_model(docker_config)
