"""Trainer's wiring: items, labels, drift alerts and model announcements in; retraining requests
worked off in the background; candidate and champion ModelPromoted events out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from mitl_contracts.datasets import load_catalog
from mitl_runtime.background import in_background
from mitl_runtime.http import service_app
from mitl_runtime.service import ServiceRuntime

from mitl_trainer.handlers import Intake
from mitl_trainer.routes import build_router
from mitl_trainer.settings import Settings
from mitl_trainer.worker import Worker

SCHEMA = "trainer"


def create_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime("trainer", settings)
    catalog = load_catalog(settings.datasets_file)
    wake = asyncio.Event()
    intake = Intake(runtime, catalog, settings, runtime.dead_letters("mitl-trainer"), wake)
    intake.subscribe_all()
    worker = Worker(runtime, catalog, settings, wake)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with runtime.running(schema=SCHEMA, migrations="mitl_trainer"):
            async with in_background(worker.run_forever()):
                yield

    app = service_app("trainer", runtime.health, lifespan, tracing=runtime.tracing)
    app.include_router(build_router(runtime, catalog, settings, intake))
    return app
