"""docker-compose.yml, checked by the real Compose binary and against the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from mitl_deploy.catalog import Catalog

from tests.deploy import tools

pytestmark = pytest.mark.deploy


def test_compose_config_is_valid(docker_config: Path) -> None:
    result = tools.compose(["-f", "docker-compose.yml", "config", "-q"], docker_config)
    assert result.returncode == 0, result.stderr


def test_compose_catches_a_broken_file(docker_config: Path, tmp_path: Path) -> None:
    """The check above can fail: a service depending on one that does not exist is refused."""
    broken = yaml.safe_load((tools.ROOT / "docker-compose.yml").read_text())
    broken["services"]["ingest"]["depends_on"]["kafak"] = {"condition": "service_healthy"}
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    result = tools.compose(["-f", str(path), "config", "-q"], docker_config)
    assert result.returncode != 0
    assert "kafak" in result.stderr


def test_services_start_after_postgres_and_the_topics_job(
    catalog: Catalog, compose_model: dict[str, Any]
) -> None:
    services = compose_model["services"]
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert "topics" in services["topics"]["command"]
    for service in catalog.services:
        depends = services[service.name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["topics"]["condition"] == "service_completed_successfully"


def test_services_run_the_built_image_hardened(
    catalog: Catalog, compose_model: dict[str, Any]
) -> None:
    services = compose_model["services"]
    image = services["topics"]["image"]
    assert services["topics"]["build"]["target"] == "runtime"
    for service in catalog.services:
        entry = services[service.name]
        assert entry["image"] == image
        assert entry["command"] == [service.command]
        assert entry["read_only"] is True
        assert entry["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in entry["security_opt"]
        assert any(t.startswith("/tmp") for t in entry["tmpfs"])
        published = {p["published"] for p in entry.get("ports", [])}
        assert published == ({str(service.port)} if service.http_clients else set())


def test_kafka_runs_kraft_and_creates_no_topics_itself(compose_model: dict[str, Any]) -> None:
    kafka = compose_model["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_prometheus_scrapes_every_service(catalog: Catalog, compose_model: dict[str, Any]) -> None:
    config = yaml.safe_load((tools.ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for service in catalog.services:
        (sd,) = jobs[service.resource]["dns_sd_configs"]
        assert sd == {"names": [service.name], "type": "A", "port": service.port}
    mounts = {v["target"]: v["source"] for v in compose_model["services"]["prometheus"]["volumes"]}
    assert mounts["/etc/prometheus/prometheus.yml"].endswith("deploy/prometheus/prometheus.yml")


def test_grafana_is_provisioned_with_the_dashboard(compose_model: dict[str, Any]) -> None:
    grafana = compose_model["services"]["grafana"]
    mounts = {v["target"]: Path(v["source"]) for v in grafana["volumes"] if v["type"] == "bind"}
    provisioning = mounts["/etc/grafana/provisioning"]
    dashboards = mounts["/var/lib/grafana/dashboards"]
    assert (dashboards / "mitl.json").is_file()
    provider = yaml.safe_load((provisioning / "dashboards" / "mitl.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    source = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text())
    assert source["datasources"][0]["url"] == "http://prometheus:9090"
