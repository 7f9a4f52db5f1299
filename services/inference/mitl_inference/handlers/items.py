"""Scoring one micro-batch of ingested items: claim, score off the event loop, publish, mark.

Per dataset, the claim (ledger.claim) says which version scores each item: the champion at
claim time for new items, the claiming version for items a crash left unpublished. Items
already published are skipped. The replica follows the registry's champion here, between
batches, so a promotion it has not heard of yet is still applied before the next batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict

from mitl_contracts import topics
from mitl_contracts.datasets import Catalog
from mitl_contracts.events import Event, ItemIngested, Prediction
from mitl_ml.errors import InvalidInput
from mitl_ml.runtime import LoadedModel
from mitl_runtime.consumer import Received
from mitl_runtime.dlq import DeadLetters, InvalidMessage
from mitl_runtime.service import ServiceRuntime

from mitl_inference import core
from mitl_inference.metrics import (
    BATCH_SIZE,
    INFERENCE_SECONDS,
    ITEMS_SCORED,
    ITEMS_SKIPPED,
    TRUNCATED,
)
from mitl_inference.models import ModelSet
from mitl_inference.store import ledger

log = logging.getLogger(__name__)
Batch = list[Received[ItemIngested]]


class Scorer:
    def __init__(
        self,
        runtime: ServiceRuntime,
        catalog: Catalog,
        models: ModelSet,
        dead_letters: DeadLetters,
        *,
        keep_recent: bool,
    ) -> None:
        self.runtime = runtime
        self.catalog = catalog
        self.models = models
        self.dead_letters = dead_letters
        self.keep_recent = keep_recent

    async def on_items(self, batch: Batch) -> None:
        """The subscriber's handler: every item of `batch` is scored once, skipped as already
        scored, left to the client's own prediction, or dead-lettered with the reason."""
        groups: dict[str, Batch] = defaultdict(list)
        known = set(self.catalog.datasets)
        for received in batch:
            item = received.event
            if item.scored_by_client:
                continue
            reason = core.unscorable(item, self.catalog, known)
            if reason is not None:
                await self.dead_letters.send(received.record, InvalidMessage(reason, "item"))
                continue
            groups[item.dataset].append(received)
        scored: dict[str, list[Prediction]] = {}
        for dataset, group in groups.items():
            scored[dataset] = await self._score_dataset(dataset, group)
        out: list[Event] = [p for predictions in scored.values() for p in predictions]
        await self.runtime.publish(topics.PREDICTIONS, out)
        for dataset, predictions in scored.items():
            if predictions:
                await ledger.published(self.runtime.pool, dataset, predictions, self.keep_recent)

    async def _score_dataset(self, dataset: str, group: Batch) -> list[Prediction]:
        claims = await ledger.claim(self.runtime.pool, dataset, [r.event.item_id for r in group])
        if claims.champion is None:
            for received in group:
                reason = f"dataset {dataset!r} has no model to serve"
                await self.dead_letters.send(received.record, InvalidMessage(reason, "item"))
            return []
        if claims.done:
            ITEMS_SKIPPED.labels(dataset).inc(len(claims.done))
        current = self.models.by_dataset.get(dataset)
        if current is None or current.version != claims.champion:
            await self.models.serve_version(dataset, claims.champion)
        by_version: dict[str, Batch] = defaultdict(list)
        for received in group:
            version = claims.to_score.pop(received.event.item_id, None)
            if version is not None:
                by_version[version].append(received)
        predictions: list[Prediction] = []
        for version, members in by_version.items():
            model = await self.models.get(dataset, version)
            predictions += await self._predict(dataset, model, members)
        return predictions

    async def _predict(self, dataset: str, model: LoadedModel, group: Batch) -> list[Prediction]:
        try:
            made, misfits = await self._run(dataset, model, group)
        except InvalidInput:
            return await self._predict_each(dataset, model, group)
        await self._reject(dataset, [(group[m.index], m.reason) for m in misfits])
        return made

    async def _run(
        self, dataset: str, model: LoadedModel, group: Batch
    ) -> tuple[list[Prediction], list[core.Misfit]]:
        items = [r.event for r in group]
        started = time.perf_counter()
        # onnxruntime releases the GIL: scoring in a thread keeps the loop serving.
        output = await asyncio.to_thread(model.predict, core.model_inputs(items))
        INFERENCE_SECONDS.labels(dataset).observe(time.perf_counter() - started)
        BATCH_SIZE.observe(len(items))
        ITEMS_SCORED.labels(dataset, model.version).inc(len(items))
        TRUNCATED.labels(dataset).inc(sum(output.truncated))
        declared = self.catalog.get(dataset)
        return core.checked_predictions(
            items,
            output,
            model.version,
            model.labels,
            declared.labels,
            multilabel=model.multilabel,
            dataset=declared,
        )

    async def _predict_each(
        self, dataset: str, model: LoadedModel, group: Batch
    ) -> list[Prediction]:
        """The batch had an input the model rejects: score items one by one, dead-letter the
        ones it rejects (with its reason) and release their claims."""
        out: list[Prediction] = []
        rejected: list[tuple[Received[ItemIngested], str]] = []
        for received in group:
            try:
                made, misfits = await self._run(dataset, model, [received])
            except InvalidInput as error:
                rejected.append((received, str(error)))
                continue
            out += made
            rejected += [(received, m.reason) for m in misfits]
        await self._reject(dataset, rejected)
        return out

    async def _reject(
        self, dataset: str, rejected: list[tuple[Received[ItemIngested], str]]
    ) -> None:
        """Dead-letter items the model rejects or whose output makes no valid prediction
        (with the reason), and release their claims."""
        for received, reason in rejected:
            await self.dead_letters.send(received.record, InvalidMessage(reason, "item"))
        if rejected:
            await ledger.release(self.runtime.pool, dataset, [r.event.item_id for r, _ in rejected])
