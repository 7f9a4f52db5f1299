"""Inference's wiring: ingested items in, micro-batched off the event loop, predictions out;
model promotions in (hot swap and re-scoring); labels in (to leave labeled items alone)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI
from mitl_contracts import topics
from mitl_contracts.datasets import load_catalog
from mitl_contracts.events import ItemIngested, Label, ModelPromoted
from mitl_ml.artifacts import ArtifactStore
from mitl_runtime.background import in_background
from mitl_runtime.consumer import Received
from mitl_runtime.http import service_app
from mitl_runtime.service import ServiceRuntime

from mitl_inference.champions import ensure_champions
from mitl_inference.handlers.items import Scorer
from mitl_inference.handlers.models import LoggedOnly, ModelEvents
from mitl_inference.models import ModelSet
from mitl_inference.rescore import Rescorer
from mitl_inference.routes import build_router
from mitl_inference.settings import Settings
from mitl_inference.store import registry, status_changes, window

log = logging.getLogger(__name__)
SCHEMA, MIGRATIONS = "registry", "mitl_inference"


def create_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime("inference", settings)
    catalog = load_catalog(settings.datasets_file)
    store = ArtifactStore(settings.artifact_dir)

    async def record(dataset: str, version: str) -> registry.ModelRecord | None:
        return await registry.get(runtime.pool, dataset, version)

    models = ModelSet(
        catalog,
        store,
        record,
        intra_op_threads=settings.intra_op_threads,
        cache_size=settings.model_cache_size,
        allow_spinning=settings.ort_allow_spinning,
    )
    keep_recent = settings.rescore_window > 0
    scorer = Scorer(
        runtime, catalog, models, runtime.dead_letters("mitl-inference"), keep_recent=keep_recent
    )
    rescorer = Rescorer(runtime, catalog, models, settings)
    events = ModelEvents(runtime, catalog, store, models, rescorer)
    runtime.subscribe(topics.ITEMS_INGESTED, ItemIngested, scorer.on_items)

    # Every replica must see every promotion (each swaps its own models), so this subscription
    # cannot share one group across replicas: each replica has a group of its own, stable
    # across its restarts (settings.replica_id: the pod's hostname, or MITL_REPLICA_ID), which
    # starts from the latest offset (what it missed before starting, it read from the
    # registry). The shared group below handles each promotion once for the deployment.
    replica_group = f"mitl-inference.models.replica.{settings.replica_id}"
    runtime.subscribe(
        topics.MODELS,
        ModelPromoted,
        events.on_replica,
        group=replica_group,
        offset_reset="latest",
        dead_letters=LoggedOnly(
            runtime.broker, runtime.name, replica_group, runtime.dead_letter_limit
        ),
    )
    shared_group = "mitl-inference.models.v1"
    runtime.subscribe(
        topics.MODELS,
        ModelPromoted,
        events.shared_handler(runtime.dead_letters(shared_group)),
        group=shared_group,
    )

    async def on_labels(batch: list[Received[Label]]) -> None:
        await window.labeled(runtime.pool, [(r.event.dataset, r.event.item_id) for r in batch])

    if keep_recent:
        runtime.subscribe(topics.LABELS, Label, on_labels)

    async def housekeeping() -> None:
        """Prune the rescore window; publish registry changes a crash left unpublished."""
        while True:
            await asyncio.sleep(settings.prune_interval_s)
            try:
                for name in catalog.datasets:
                    await window.prune(runtime.pool, name, settings.rescore_window)
                await status_changes.publish_pending(runtime.pool, runtime.publisher)
            except Exception:  # transient (database, broker): try again next round
                log.exception("housekeeping failed; next try in %ss", settings.prune_interval_s)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Champions are settled before any subscriber starts, so that the first batch of a
        # fresh deployment finds its model in the registry.
        async def settle(pool: asyncpg.Pool) -> None:
            await ensure_champions(pool, store, catalog, models)

        async with runtime.running(schema=SCHEMA, migrations=MIGRATIONS, prepare=settle):
            await status_changes.publish_pending(runtime.pool, runtime.publisher)
            async with in_background(housekeeping()):
                yield

    app = service_app("inference", runtime.health, lifespan, tracing=runtime.tracing)

    app.include_router(build_router(runtime, models, settings, catalog))
    return app
