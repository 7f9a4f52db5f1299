"""Router's wiring: predictions and human labels in; decisions, review requests and
pseudo-labels out; drift alerts tighten policies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from mitl_contracts import topics
from mitl_contracts.datasets import load_catalog
from mitl_contracts.events import DriftAlert, Label, Prediction
from mitl_runtime.http import service_app
from mitl_runtime.service import ServiceRuntime

from mitl_router.core import check_prediction
from mitl_router.handlers.drift import on_drift_for
from mitl_router.handlers.labels import Feedback
from mitl_router.handlers.predictions import Router
from mitl_router.routes import build_router
from mitl_router.settings import Settings

__all__ = ["check_prediction", "create_app"]


def create_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime("router", settings)
    catalog = load_catalog(settings.datasets_file)
    router = Router(runtime, catalog, runtime.dead_letters("mitl-router"))
    feedback = Feedback(runtime, catalog)

    runtime.subscribe(topics.PREDICTIONS, Prediction, router.handle)
    runtime.subscribe(topics.LABELS, Label, feedback.handle)
    runtime.subscribe(topics.DRIFT, DriftAlert, on_drift_for(runtime))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with runtime.running(schema="router", migrations="mitl_router"):
            yield

    app = service_app("router", runtime.health, lifespan, tracing=runtime.tracing)
    app.include_router(build_router(runtime, catalog))
    return app
