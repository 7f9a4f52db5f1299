"""Each service gets, in compose and in every overlay, the environment its Settings need: every
required setting, the ones whose defaults are wrong in a container (brokers, database,
datasets file, bind address, port), every path it writes to on a writable volume, and no
MITL_* variable its Settings do not know (a typo would otherwise be ignored silently)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from mitl_contracts.datasets import Catalog as Datasets
from mitl_deploy.catalog import Catalog, Service
from pydantic_settings import BaseSettings

from tests.deploy.conftest import Overlay
from tests.deploy.tools import ROOT

pytestmark = pytest.mark.deploy
# Whose container defaults are wrong in a container, so the deploy files must set them.
MUST_SET = ("kafka_bootstrap_servers", "database_url", "datasets_file", "http_host", "http_port")
SECRET = "<from Secret>"
# What a Secret holds where a setting checks its form (a URL), for the settings to load.
SECRET_VALUES = {"MITL_OIDC_JWKS_URL": "https://login.example.com/jwks"}


@dataclass(frozen=True)
class Runtime:
    """What one service's container gets: environment, and which paths are mounted how."""

    where: str
    env: dict[str, str]
    writable: set[str]  # mount paths of writable volumes
    config_files: dict[str, str]  # mount path of a config volume -> file it holds, as text


def settings_of(service: Service) -> type[BaseSettings]:
    module, _, name = service.settings.partition(":")
    settings: type[BaseSettings] = getattr(importlib.import_module(module), name)
    return settings


def compose_runtime(service: Service, model: dict[str, Any]) -> Runtime:
    entry = model["services"][service.name]
    writable = {t.split(":")[0] for t in entry.get("tmpfs", [])}
    config: dict[str, str] = {}
    for volume in entry.get("volumes", []):
        if volume["type"] == "volume":
            writable.add(volume["target"])
        elif volume["type"] == "bind" and volume.get("read_only"):
            source = Path(volume["source"])
            for file in sorted(f for f in source.rglob("*") if f.is_file()):
                config[f"{volume['target']}/{file.relative_to(source)}"] = file.read_text()
    return Runtime(f"compose {service.name}", dict(entry["environment"]), writable, config)


def k8s_runtime(service: Service, overlay: Overlay) -> Runtime:
    pod = overlay.get("Deployment", service.resource)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    config_maps = {r["metadata"]["name"]: r.get("data", {}) for r in overlay.of_kind("ConfigMap")}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env |= config_maps[source["configMapRef"]["name"]]
    for variable in container.get("env", []):
        source = variable.get("valueFrom", {})
        if "secretKeyRef" in source:
            env[variable["name"]] = SECRET_VALUES.get(variable["name"], SECRET)
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            env[variable["name"]] = config_maps[ref["name"]][ref["key"]]
        else:
            env[variable["name"]] = variable["value"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    writable: set[str] = set()
    config: dict[str, str] = {}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "emptyDir" in volume or "persistentVolumeClaim" in volume:
            writable.add(mount["mountPath"])
        if "configMap" in volume:
            data = config_maps[volume["configMap"]["name"]]
            # With `items`, only those keys are projected, each at its path.
            items = volume["configMap"].get("items") or [{"key": k, "path": k} for k in data]
            for item in items:
                config[f"{mount['mountPath']}/{item['path']}"] = data[item["key"]]
    return Runtime(f"{overlay.name} {service.resource}", env, writable, config)


def runtimes(
    catalog: Catalog, overlays: dict[str, Overlay], compose_model: dict[str, Any]
) -> Iterator[tuple[Service, Runtime]]:
    for service in catalog.services:
        yield service, compose_runtime(service, compose_model)
        for overlay in overlays.values():
            yield service, k8s_runtime(service, overlay)


def variable(settings: type[BaseSettings], field: str) -> str:
    return f"{settings.model_config.get('env_prefix', '')}{field}".upper()


def test_required_and_container_specific_settings_are_set(
    catalog: Catalog, overlays: dict[str, Overlay], compose_model: dict[str, Any]
) -> None:
    for service, runtime in runtimes(catalog, overlays, compose_model):
        settings = settings_of(service)
        required = [f for f, info in settings.model_fields.items() if info.is_required()]
        for field in (*required, *MUST_SET):
            assert variable(settings, field) in runtime.env, f"{runtime.where}: {field}"
        env = runtime.env
        assert env["MITL_HTTP_HOST"] == "0.0.0.0", runtime.where
        assert env["MITL_HTTP_PORT"] == str(service.port), runtime.where


def test_no_unknown_mitl_variables(
    catalog: Catalog, overlays: dict[str, Overlay], compose_model: dict[str, Any]
) -> None:
    for service, runtime in runtimes(catalog, overlays, compose_model):
        settings = settings_of(service)
        known = {variable(settings, field) for field in settings.model_fields}
        unknown = {k for k in runtime.env if k.startswith("MITL_")} - known
        assert not unknown, f"{runtime.where}: {sorted(unknown)} are no setting of {service.name}"


def test_settings_accept_what_the_deploy_files_set(
    catalog: Catalog,
    overlays: dict[str, Overlay],
    compose_model: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for service, runtime in runtimes(catalog, overlays, compose_model):
        with monkeypatch.context() as patch:
            for name in [n for n in os.environ if n.startswith("MITL_")]:
                patch.delenv(name)
            for name, value in runtime.env.items():
                patch.setenv(name, value)
            settings = settings_of(service)()  # raises if a value breaks its constraint
        assert settings.http_port == service.port  # type: ignore[attr-defined]


def test_password_comes_from_a_secret_not_the_url(
    catalog: Catalog, overlays: dict[str, Overlay], compose_model: dict[str, Any]
) -> None:
    for _, runtime in runtimes(catalog, overlays, compose_model):
        assert urlparse(runtime.env["MITL_DATABASE_URL"]).password is None, runtime.where
        assert "PGPASSWORD" in runtime.env, runtime.where
        if not runtime.where.startswith("compose"):
            assert runtime.env["PGPASSWORD"] == SECRET, runtime.where


def test_datasets_file_is_mounted_and_its_models_are_in_the_image(
    catalog: Catalog, overlays: dict[str, Overlay], compose_model: dict[str, Any]
) -> None:
    built = dockerfile_models()
    for _, runtime in runtimes(catalog, overlays, compose_model):
        path = runtime.env["MITL_DATASETS_FILE"]
        assert path in runtime.config_files, f"{runtime.where}: {path} is not mounted"
        # Model paths are relative to the datasets file: they must land on a built bundle.
        datasets = Datasets.model_validate(yaml.safe_load(runtime.config_files[path]))
        for name, dataset in datasets.datasets.items():
            if dataset.model is None or dataset.model.is_absolute():
                continue
            model = os.path.normpath(PurePosixPath(path).parent / dataset.model)
            assert model in built, f"{runtime.where}: {name}'s model {model} is not built"


def test_guideline_files_are_mounted_beside_the_datasets_file_that_names_them(
    catalog: Catalog, overlays: dict[str, Overlay], compose_model: dict[str, Any]
) -> None:
    """review-api refuses to start without a guidelines file its datasets file names."""
    for _, runtime in runtimes(catalog, overlays, compose_model):
        path = runtime.env["MITL_DATASETS_FILE"]
        datasets = Datasets.model_validate(yaml.safe_load(runtime.config_files[path]))
        named = [d for d in datasets.datasets.values() if d.guidelines and d.guidelines.file]
        assert named, "the shipped datasets have guidelines"
        for dataset in named:
            assert dataset.guidelines is not None and dataset.guidelines.file is not None
            guide = os.path.normpath(PurePosixPath(path).parent / dataset.guidelines.file)
            assert guide in runtime.config_files, f"{runtime.where}: {guide} is not mounted"
            shipped = ROOT / "config" / dataset.guidelines.file
            assert runtime.config_files[guide] == shipped.read_text(), runtime.where


def test_paths_a_service_writes_are_on_writable_volumes(
    catalog: Catalog, overlays: dict[str, Overlay], compose_model: dict[str, Any]
) -> None:
    """The root filesystem is read-only: every path setting but the datasets file (read) must
    be set, absolute, to a place under a writable mount."""
    for service, runtime in runtimes(catalog, overlays, compose_model):
        settings = settings_of(service)
        for field, info in settings.model_fields.items():
            if info.annotation is not Path or field == "datasets_file":
                continue
            value = runtime.env.get(variable(settings, field))
            assert value, f"{runtime.where}: set {variable(settings, field)} (relative default)"
            assert any(PurePosixPath(value).is_relative_to(mount) for mount in runtime.writable), (
                f"{runtime.where}: {value} is on the read-only root filesystem"
            )


def dockerfile_models() -> set[str]:
    words = (ROOT / "Dockerfile").read_text().split()
    return {words[i + 1] for i, word in enumerate(words) if word == "--out"}
