"""Inference's wiring: ingested items in, micro-batched off the event loop, predictions out."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from mitl_contracts import topics
from mitl_contracts.datasets import load_catalog
from mitl_contracts.events import Event, ItemIngested
from mitl_runtime.consumer import Received
from mitl_runtime.dlq import InvalidMessage
from mitl_runtime.http import service_app
from mitl_runtime.service import ServiceRuntime

from mitl_inference import core
from mitl_inference.metrics import BATCH_SIZE, INFERENCE_SECONDS, ITEMS_SCORED, TRUNCATED
from mitl_inference.models import ModelSet
from mitl_inference.settings import Settings


def create_app(settings: Settings) -> FastAPI:  # type: ignore[override]
    runtime = ServiceRuntime("inference", settings)
    catalog = load_catalog(settings.datasets_file)
    models = ModelSet(settings.intra_op_threads)
    dead_letters = runtime.dead_letters("mitl-inference")

    async def on_items(batch: list[Received[ItemIngested]]) -> None:
        by_dataset: dict[str, list[ItemIngested]] = defaultdict(list)
        for received in batch:
            item = received.event
            if item.scored_by_client:
                continue
            reason = core.unscorable(item, catalog, set(models.by_dataset))
            if reason is not None:
                await dead_letters.send(received.record, InvalidMessage(reason, "item"))
                continue
            by_dataset[item.dataset].append(item)
        out: list[Event] = []
        for dataset, items in by_dataset.items():
            model = models.by_dataset[dataset]
            started = time.perf_counter()
            # onnxruntime releases the GIL: scoring in a thread keeps the loop serving.
            output = await asyncio.to_thread(model.predict, core.model_inputs(items))
            INFERENCE_SECONDS.labels(dataset).observe(time.perf_counter() - started)
            BATCH_SIZE.observe(len(items))
            out.extend(core.predictions(items, output, model.version, model.labels))
            ITEMS_SCORED.labels(dataset, model.version).inc(len(items))
            TRUNCATED.labels(dataset).inc(sum(output.truncated))
        await runtime.publish(topics.PREDICTIONS, out)

    runtime.subscribe(topics.ITEMS_INGESTED, ItemIngested, on_items)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(models.load_catalog, catalog)
        async with runtime.running():
            yield

    app = service_app("inference", runtime.health, lifespan)

    @app.get("/v1/models", tags=["models"])
    async def served() -> dict[str, object]:
        """The model version serving each dataset, with its manifest."""
        return {
            name: model.manifest.model_dump(mode="json") for name, model in models.by_dataset.items()
        }

    return app
