"""Drift-monitor's wiring: predictions and labels in, DriftAlerts out, GET /v1/drift/{dataset}."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException
from mitl_contracts import topics
from mitl_contracts.datasets import UnknownDataset, load_catalog
from mitl_contracts.events import Label, Prediction
from mitl_runtime.http import service_app
from mitl_runtime.service import ServiceRuntime

from mitl_drift import store
from mitl_drift.pipeline import DriftMonitor
from mitl_drift.report import DriftReport, report
from mitl_drift.settings import Settings

SCHEMA = "monitor"


def create_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime("drift-monitor", settings)
    catalog = load_catalog(settings.datasets_file)
    monitor = DriftMonitor(runtime, catalog, settings)
    runtime.subscribe(topics.PREDICTIONS, Prediction, monitor.on_predictions)
    runtime.subscribe(topics.LABELS, Label, monitor.on_labels)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with runtime.running(schema=SCHEMA, migrations="mitl_drift"):
            # A restarted replica reports the shared state at once and sends alerts a crash
            # left unpublished.
            await monitor.export_gauges()
            await monitor.publish_pending()
            yield

    app = service_app("drift-monitor", runtime.health, lifespan, tracing=runtime.tracing)

    @app.get("/v1/drift/{dataset}", response_model=DriftReport, tags=["drift"])
    async def get_drift(dataset: str) -> DriftReport:
        """Current statistics and alert states of each model version of `dataset`; 404 for a
        dataset neither in the catalog nor ever seen."""
        monitors = await store.monitors(runtime.pool, dataset)
        if not monitors and dataset not in catalog.datasets:
            raise HTTPException(404, str(UnknownDataset(dataset, list(catalog.datasets))))
        statistics = await store.statistics(runtime.pool, [dataset])
        return report(dataset, monitors, statistics)

    return app
