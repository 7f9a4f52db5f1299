"""Ingest's wiring: POST /v1/items and the raw topic, both into the same Ingestor."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI, HTTPException
from mitl_contracts import topics
from mitl_contracts.api import IngestRequest, IngestResponse, ItemOutcome
from mitl_contracts.datasets import UnknownDataset, load_catalog
from mitl_contracts.events import ItemRaw
from mitl_runtime.consumer import Received
from mitl_runtime.dlq import InvalidMessage
from mitl_runtime.http import service_app
from mitl_runtime.http_errors import encodable
from mitl_runtime.service import ServiceRuntime
from pydantic import ValidationError

from mitl_ingest import core
from mitl_ingest.pipeline import Ingestor
from mitl_ingest.settings import Settings


def describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}" for e in error.errors()
    )


def create_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime("ingest", settings)
    catalog = load_catalog(settings.datasets_file)
    ingestor = Ingestor(runtime, catalog)
    dead_letters = runtime.dead_letters("mitl-ingest")

    async def on_raw(batch: list[Received[ItemRaw]]) -> None:
        stream_batch = f"stream-{datetime.now(UTC):%Y%m%d}"
        outcomes = await ingestor.ingest([r.event for r in batch], stream_batch)
        for received, outcome in zip(batch, outcomes, strict=True):
            if outcome.status == "rejected":
                await dead_letters.send(
                    received.record, InvalidMessage(outcome.reason or "", "item")
                )

    runtime.subscribe(topics.ITEMS_RAW, ItemRaw, on_raw)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with runtime.running(schema="ingest", migrations="mitl_ingest"):
            yield

    app = service_app("ingest", runtime.health, lifespan, tracing=runtime.tracing)

    @app.post("/v1/items", response_model=IngestResponse, tags=["items"])
    async def post_items(request: IngestRequest) -> IngestResponse:
        """Ingest a batch of items for one dataset; the answer says, per item, whether it was
        accepted, a duplicate of one already ingested, or rejected and why."""
        try:
            catalog.get(request.dataset)
        except UnknownDataset as error:
            raise HTTPException(404, str(error)) from None
        if len(request.items) > settings.max_items_per_request:
            raise HTTPException(
                413,
                f"{len(request.items)} items; at most {settings.max_items_per_request} a request",
            )
        if request.batch_id is not None and core.NUL in request.batch_id:
            raise HTTPException(422, "batch_id: contains a NUL character (U+0000), not allowed")
        batch_id = request.batch_id or f"http-{uuid.uuid4().hex[:16]}"
        parsed: list[ItemRaw] = []
        positions: list[int] = []
        items: list[ItemOutcome | None] = []
        for index, raw in enumerate(request.items):
            try:
                parsed.append(
                    ItemRaw.model_validate(
                        {**raw, "dataset": request.dataset, "batch_id": batch_id}
                    )
                )
                positions.append(index)
                items.append(None)
            except ValidationError as error:
                # Echoed as sent, except what UTF-8 cannot encode (a lone surrogate).
                external_id = encodable(raw.get("external_id"))
                items.append(
                    ItemOutcome(
                        index=index,
                        external_id=external_id if isinstance(external_id, str) else None,
                        status="rejected",
                        reason=describe(error),
                    )
                )
        for index, outcome in zip(positions, await ingestor.ingest(parsed, batch_id), strict=True):
            items[index] = ItemOutcome(index=index, **outcome.__dict__)
        done = [i for i in items if i is not None]
        return IngestResponse(
            dataset=request.dataset,
            batch_id=batch_id,
            accepted=sum(i.status == "accepted" for i in done),
            duplicates=sum(i.status == "duplicate" for i in done),
            rejected=sum(i.status == "rejected" for i in done),
            items=done,
        )

    return app
