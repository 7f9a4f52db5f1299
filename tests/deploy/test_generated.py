"""The rendered files are what their sources render today, and the catalog matches the code:
every service the project ships is deployed, with the port, consumer groups and name its
code uses."""

from __future__ import annotations

import importlib
import re
import tomllib

import pytest
from mitl_contracts import topics
from mitl_deploy.catalog import Catalog
from mitl_deploy.render import render, stale

from scripts import gen_config_docs
from tests.deploy.tools import ROOT

pytestmark = pytest.mark.deploy


def test_deploy_files_are_rendered_from_the_catalog(catalog: Catalog) -> None:
    outdated = [str(p.relative_to(ROOT)) for p in stale(render(catalog))]
    assert not outdated, f"not current (run python deploy/generate.py): {outdated}"


def test_configuration_reference_is_current() -> None:
    doc = ROOT / "docs" / "configuration.md"
    assert doc.read_text() == gen_config_docs.render(), (
        "docs/configuration.md is not current: run python scripts/gen_config_docs.py"
    )


def test_every_service_console_script_is_deployed(catalog: Catalog) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    services = {name for name in scripts if name != "mitl"}
    assert services == {s.command for s in catalog.services}, (
        "every console script but `mitl` is a service: give each an entry in deploy/services.yaml"
    )
    for service in catalog.services:
        package = scripts[service.command].split(".")[0]
        assert service.settings.startswith(f"{package}."), service.name


def test_catalog_ports_are_the_services_default_ports(catalog: Catalog) -> None:
    for service in catalog.services:
        module, _, name = service.settings.partition(":")
        settings = getattr(importlib.import_module(module), name)
        assert settings.model_fields["http_port"].default == service.port, service.name


def test_scaled_consumer_groups_are_the_ones_the_services_join(catalog: Catalog) -> None:
    constants = {value: name for name, value in vars(topics).items() if isinstance(value, str)}
    for service in (s for s in catalog.services if s.scaled_by == "kafka-lag"):
        assert service.scale is not None
        topic = service.scale["topic"]
        package = service.settings.split(".")[0]
        source = "\n".join(
            path.read_text() for path in (ROOT / "services").glob(f"*/{package}/**/*.py")
        )
        # ServiceRuntime(name) names the group mitl-<name>.<topic without "mitl.">.
        assert re.search(rf'ServiceRuntime\(\s*"{service.name}"|SERVICE = "{service.name}"', source)
        assert f"topics.{constants[topic]}" in source, f"{service.name} does not consume {topic}"
        assert service.consumer_group == f"mitl-{service.name}.{topic.removeprefix('mitl.')}"
