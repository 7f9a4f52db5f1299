"""Ingest's one path, shared by HTTP and the raw topic: triage, dedupe, publish."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from mitl_contracts import topics
from mitl_contracts.datasets import Catalog
from mitl_contracts.events import Event, ItemIngested, ItemRaw
from mitl_runtime.consumer import Received
from mitl_runtime.dlq import DeadLetters, InvalidMessage
from mitl_runtime.service import ServiceRuntime

from mitl_ingest import core, store
from mitl_ingest.fetch import FetchFailed, ImageFetcher
from mitl_ingest.metrics import ITEMS


@dataclass
class Ingestor:
    runtime: ServiceRuntime
    catalog: Catalog
    dead_letters: DeadLetters
    fetcher: ImageFetcher

    async def on_raw(self, batch: list[Received[ItemRaw]]) -> None:
        """Items from the raw topic; a rejected one is dead-lettered with the reason."""
        stream_batch = f"stream-{datetime.now(UTC):%Y%m%d}"
        outcomes = await self.ingest([r.event for r in batch], stream_batch)
        for received, outcome in zip(batch, outcomes, strict=True):
            if outcome.status == "rejected":
                await self.dead_letters.send(
                    received.record, InvalidMessage(outcome.reason or "", "item")
                )

    async def ingest(
        self, raws: list[ItemRaw], batch_id: str, client_id: str | None = None
    ) -> list[core.Outcome]:
        """One outcome per input, in order. Returns only once accepted items are durable.
        `client_id`, the client that sent them, is recorded on every item."""
        raws, failed = await self.fetch_images(raws)
        outcomes: list[core.Outcome | None] = []
        candidates: dict[tuple[str, str], tuple[ItemRaw, ItemIngested]] = {}
        for index, raw in enumerate(raws):
            rejected = (
                core.Outcome(raw.external_id, "rejected", reason=failed[index])
                if index in failed
                else core.triage(raw, self.catalog)
            )
            key = (raw.dataset, raw.external_id)
            if rejected is None and key not in candidates:
                candidates[key] = (raw, self._ingested(raw, batch_id, client_id))
            outcomes.append(rejected)
        items = [item for _, item in candidates.values()]
        new_ids = await store.claim(self.runtime.pool, items)
        fresh = [(raw, item) for raw, item in candidates.values() if item.item_id in new_ids]
        predictions: list[Event] = []
        for raw, item in fresh:
            if (prediction := core.client_prediction(raw, item, self.catalog)) is not None:
                predictions.append(prediction)
        await self.runtime.publish(topics.ITEMS_INGESTED, [item for _, item in fresh])
        await self.runtime.publish(topics.PREDICTIONS, predictions)
        await store.mark_published(self.runtime.pool, [item for _, item in fresh])

        result: list[core.Outcome] = []
        claimed: set[tuple[str, str]] = set()
        for raw, outcome in zip(raws, outcomes, strict=True):
            key = (raw.dataset, raw.external_id)
            if outcome is None:
                item_id = core.item_id_for(*key)
                first = item_id in new_ids and key not in claimed
                claimed.add(key)
                outcome = (
                    core.Outcome(raw.external_id, "accepted", item_id)
                    if first
                    else core.Outcome(
                        raw.external_id,
                        "duplicate",
                        item_id,
                        "an item with this external_id was already ingested",
                    )
                )
            ITEMS.labels(raw.dataset if outcome.status != "rejected" else "-", outcome.status).inc()
            result.append(outcome)
        return result

    async def fetch_images(self, raws: list[ItemRaw]) -> tuple[list[ItemRaw], dict[int, str]]:
        """`raws` with the images of `image_url` items fetched (datasets that allow it), and
        the reason per index where fetching failed. Other items pass unchanged (triage rejects
        a URL item of a dataset that does not allow URLs)."""
        fetched, failed = list(raws), {}
        for index, raw in enumerate(raws):
            if (url := core.to_fetch(raw, self.catalog)) is None:
                continue
            limit = self.catalog.get(raw.dataset).max_image_bytes
            try:
                fetched[index] = core.with_image(raw, await self.fetcher.fetch(url, limit))
            except FetchFailed as error:
                failed[index] = str(error)
        return fetched, failed

    @staticmethod
    def _ingested(raw: ItemRaw, batch_id: str, client_id: str | None) -> ItemIngested:
        item = core.ingested(raw, raw.batch_id or batch_id, client_id)
        if raw.prediction is not None:
            item = item.model_copy(update={"scored_by_client": True})
        return item
