"""Audit's wiring: decisions, labels, policies, models, drift and access changes into the
chained log; ingested items' content beside it; reports, exports and the access log out;
agreement gauges refreshed on a timer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from mitl_contracts.datasets import load_catalog
from mitl_runtime.background import in_background
from mitl_runtime.http import service_app
from mitl_runtime.service import ServiceRuntime

from mitl_audit import agreement_gauges
from mitl_audit.handlers import Recorder
from mitl_audit.routes.access import build_access_router
from mitl_audit.routes.export import build_export_router
from mitl_audit.routes.reports import build_router
from mitl_audit.settings import Settings
from mitl_audit.store import log


def create_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime("audit", settings)
    catalog = load_catalog(settings.datasets_file)
    recorder = Recorder(runtime, runtime.dead_letters("mitl-audit"))
    recorder.subscribe_all()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with runtime.running(schema="audit", migrations="mitl_audit"):
            recorder.saw_head((await log.head(runtime.pool)).seq)
            async with in_background(
                agreement_gauges.run(
                    runtime,
                    settings,
                    sorted(catalog.datasets),
                    {name for name, spec in catalog.datasets.items() if spec.task == "spans"},
                )
            ):
                yield

    app = service_app("audit", runtime.health, lifespan, tracing=runtime.tracing)
    authenticator = settings.authenticator()
    app.include_router(
        build_router(runtime, catalog, settings.max_overrides_per_request, authenticator)
    )
    app.include_router(build_export_router(runtime, catalog, authenticator))
    app.include_router(build_access_router(runtime, authenticator))
    return app
