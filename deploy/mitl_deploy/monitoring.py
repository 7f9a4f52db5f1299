"""Scraping every service's /metrics: ServiceMonitors in Kubernetes, Prometheus' own config in
compose. Either way the job is named after the service's objects (`mitl-<service>`)."""

from __future__ import annotations

from mitl_deploy import alerts
from mitl_deploy.catalog import Catalog, Doc, Service


def service_monitor(service: Service) -> Doc:
    spec = {
        "selector": {"matchLabels": service.selector},
        "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}],
    }
    return service.document("monitoring.coreos.com/v1", "ServiceMonitor", spec)


def prometheus_config(catalog: Catalog) -> Doc:
    jobs: list[Doc] = [
        {"job_name": "prometheus", "static_configs": [{"targets": ["localhost:9090"]}]}
    ]
    for service in catalog.services:
        # DNS discovery finds every replica of `docker compose up --scale <service>=N`.
        jobs.append(
            {
                "job_name": service.resource,
                "dns_sd_configs": [{"names": [service.name], "type": "A", "port": service.port}],
            }
        )
    timing = {"scrape_interval": "15s", "evaluation_interval": "15s"}
    return {"global": timing, "rule_files": [alerts.RULES_FILE], "scrape_configs": jobs}
