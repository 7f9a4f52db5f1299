"""Review API's wiring: review requests become tasks; people claim and submit them over HTTP
(or in the UI served at /); completed tasks publish labels through the outbox."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from mitl_contracts import topics
from mitl_contracts.datasets import UnknownDataset, load_catalog
from mitl_contracts.events import ReviewRequested
from mitl_runtime.auth.authenticator import Authenticator
from mitl_runtime.http import service_app
from mitl_runtime.service import ServiceRuntime
from mitl_runtime.status_error import StatusError

from mitl_review import guidelines, maintenance, user_changes
from mitl_review.context import Context
from mitl_review.handlers import Intake
from mitl_review.hot_paths import HotPaths
from mitl_review.outbox import SCHEMA as OUTBOX_SCHEMA
from mitl_review.outbox import OutboxRelay
from mitl_review.routes import annotators, datasets, gold, queues, tasks, ui, users
from mitl_review.routes import guidelines as guideline_routes
from mitl_review.settings import Settings
from mitl_review.token_cache import TokenCache

SERVICE = "review-api"
SHUTDOWN_GRACE_SECONDS = 10.0


def create_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime(SERVICE, settings)
    catalog = load_catalog(settings.datasets_file)
    # Read now: a guidelines file that cannot be read refuses start-up, naming it.
    configured_guidelines = guidelines.configured(catalog)
    context = Context(
        settings,
        runtime,
        catalog,
        OutboxRelay(
            runtime, OUTBOX_SCHEMA, settings.outbox_batch, settings.outbox_linger_ms / 1000
        ),
        TokenCache(settings.auth_cache_seconds),
        authenticator=Authenticator(oidc=settings.oidc_verifier()),
    )
    intake = Intake(runtime, catalog, runtime.dead_letters(f"mitl-{SERVICE}"))
    runtime.subscribe(topics.REVIEW_REQUESTED, ReviewRequested, intake.handle)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with runtime.running(
            schema="review",
            migrations="mitl_review",
            prepare=partial(guidelines.store_configured, contents=configured_guidelines),
        ):
            await context.requests.open(settings.database_url, settings.request_pool_size)
            stop = asyncio.Event()
            background = [
                asyncio.create_task(maintenance.run(context, stop), name="review-maintenance"),
                asyncio.create_task(
                    context.relay.run(settings.maintenance_interval_seconds), name="review-outbox"
                ),
                asyncio.create_task(
                    user_changes.listen(settings.database_url, context.tokens, stop),
                    name="review-user-changes",
                ),
            ]
            try:
                yield
            finally:
                # Asked to stop, not cancelled: each finishes what it is doing (the relay
                # publishes what is pending). Only one stuck past the grace period is cancelled.
                stop.set()
                context.relay.stop()
                _finished, stuck = await asyncio.wait(background, timeout=SHUTDOWN_GRACE_SECONDS)
                for task in stuck:
                    task.cancel()
                for task in stuck:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await context.requests.close()

    app = service_app(
        SERVICE,
        runtime.health,
        lifespan,
        tracing=runtime.tracing,
        description="Claim review tasks, label them, and publish the labels. UI at /.",
    )
    app.state.review = context

    @app.exception_handler(StatusError)
    async def review_error(_: Request, error: StatusError) -> JSONResponse:
        return JSONResponse({"detail": error.message}, status_code=error.status)

    @app.exception_handler(UnknownDataset)
    async def unknown_dataset(_: Request, error: UnknownDataset) -> JSONResponse:
        return JSONResponse({"detail": error.message}, status_code=404)

    for module in (queues, tasks, users, datasets, guideline_routes, gold, annotators, ui):
        app.include_router(module.router)
    app.add_middleware(HotPaths, context=context, fastapi_app=app)
    app.mount("/static", StaticFiles(directory=ui.STATIC), name="static")
    return app
