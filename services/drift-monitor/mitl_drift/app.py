"""Drift-monitor's wiring: predictions and labels in, DriftAlerts out, GET /v1/drift/{dataset}."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from mitl_contracts import topics
from mitl_contracts.datasets import load_catalog
from mitl_contracts.events import Label, Prediction
from mitl_runtime.http import service_app
from mitl_runtime.service import ServiceRuntime

from mitl_drift.handlers import DriftMonitor
from mitl_drift.routes import build_router
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
    app.include_router(build_router(runtime, catalog))
    return app
