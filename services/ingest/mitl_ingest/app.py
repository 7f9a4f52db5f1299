"""Ingest's wiring: POST /v1/items and the raw topic, both into the same Ingestor; the outbox
relay publishing client-key changes for audit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from mitl_contracts import topics
from mitl_contracts.datasets import load_catalog
from mitl_contracts.events import ItemRaw
from mitl_runtime.http import service_app
from mitl_runtime.outbox import OutboxRelay
from mitl_runtime.service import ServiceRuntime

from mitl_ingest import outbox
from mitl_ingest.fetch import ImageFetcher
from mitl_ingest.handlers import Ingestor
from mitl_ingest.routes import build_router
from mitl_ingest.settings import Settings

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_SECONDS = 10.0


def create_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime("ingest", settings)
    catalog = load_catalog(settings.datasets_file)
    ingestor = Ingestor(
        runtime,
        catalog,
        runtime.dead_letters("mitl-ingest"),
        ImageFetcher(settings.image_fetch_timeout_s),
    )
    runtime.subscribe(topics.ITEMS_RAW, ItemRaw, ingestor.on_raw)
    relay = OutboxRelay(runtime, outbox.SCHEMA)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with runtime.running(schema="ingest", migrations="mitl_ingest"):
            if settings.ingest_auth == "off":
                log.warning(
                    "INGEST AUTHENTICATION IS OFF (MITL_INGEST_AUTH=off): anyone who reaches "
                    "port %d can write items into any dataset. For local development only.",
                    settings.http_port,
                )
            publishing = asyncio.create_task(relay.run(settings.outbox_interval_seconds))
            try:
                yield
            finally:
                # Asked to stop (it publishes what is pending), cancelled only if stuck.
                relay.stop()
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(publishing, SHUTDOWN_GRACE_SECONDS)

    app = service_app("ingest", runtime.health, lifespan, tracing=runtime.tracing)
    app.include_router(build_router(catalog, ingestor, settings))
    return app
