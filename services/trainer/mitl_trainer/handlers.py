"""What the trainer learns from the stream: item texts, labels, the champion of each dataset;
and the retraining requests that labels and drift alerts make.

Every dataset of the catalog is trained here (text, image and vector items); events of a
dataset the catalog does not declare are counted as ignored, not dead-lettered (they are valid,
just not this service's business). A label
outside its dataset's label set can never train anything and is dead-lettered; so is a span
dataset's label without its span set or with spans the dataset refuses. A span set's label is
its key (mitl_contracts.spans.spans_key), stored as any label and read back into spans to train.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from mitl_contracts import topics
from mitl_contracts.datasets import Catalog, Dataset
from mitl_contracts.events import DriftAlert, Event, ItemIngested, Label, ModelPromoted
from mitl_contracts.spans import span_fault
from mitl_runtime.consumer import Received
from mitl_runtime.dlq import DeadLetters, InvalidMessage
from mitl_runtime.service import ServiceRuntime

from mitl_trainer.core import schedule
from mitl_trainer.core.training_set import HUMAN_SOURCES
from mitl_trainer.metrics import IGNORED, REQUESTS, VERIFIED_LABELS
from mitl_trainer.settings import Settings
from mitl_trainer.store import learned, retraining

log = logging.getLogger(__name__)
E = TypeVar("E", bound=Event)


def trained(catalog: Catalog, dataset: str) -> Dataset | None:
    """The dataset if the trainer trains it: every dataset of the catalog (text, image and
    vector items; single-label, multi-label and spans), None for one it does not declare."""
    return catalog.datasets.get(dataset)


def label_fault(dataset: Dataset, event: Label) -> str | None:
    """Why `event` can never train `dataset`'s models, None if it can: a label outside the
    label set; for a multi-label dataset, a label without its label set or with a label
    outside it; for a span dataset, a label without its span set, or spans with a label not
    in the dataset, or overlapping where the dataset forbids it."""
    if dataset.task == "multilabel":
        if event.labels is None:
            return f"dataset {event.dataset!r} is multi-label; the label carries no 'labels'"
        unknown = sorted(set(event.labels) - set(dataset.labels))
        if unknown:
            return f"labels {unknown} are not in dataset {event.dataset!r}'s label set"
        return None
    if dataset.task != "spans":
        if event.label not in dataset.labels:
            return f"label {event.label!r} is not in dataset {event.dataset!r}'s label set"
        return None
    if event.spans is None:
        return f"dataset {event.dataset!r} labels spans; the label carries no 'spans'"
    if (fault := span_fault(event.spans, None, dataset)) is not None:
        return f"dataset {event.dataset!r}: {fault}"
    return None


@dataclass
class Intake:
    runtime: ServiceRuntime
    catalog: Catalog
    settings: Settings
    dead_letters: DeadLetters
    # Set when a request is made, so the worker starts at once instead of at its next poll.
    wake: asyncio.Event

    def ours(self, topic: str, events: Sequence[E]) -> list[E]:
        """The events of datasets trained here; the others are counted as ignored."""
        kept = [e for e in events if trained(self.catalog, e.dataset)]
        if len(kept) < len(events):
            IGNORED.labels(topic, "dataset").inc(len(events) - len(kept))
        return kept

    async def on_items(self, batch: list[Received[ItemIngested]]) -> None:
        # Every item of a trained dataset: its text, image or vector (learned.stored_content).
        items = self.ours(topics.ITEMS_INGESTED, [r.event for r in batch])
        if items:
            await learned.add_items(self.runtime.pool, items)

    async def on_labels(self, batch: list[Received[Label]]) -> None:
        labels: list[Label] = []
        for received in batch:
            event, dataset = received.event, trained(self.catalog, received.event.dataset)
            if dataset is None:
                IGNORED.labels(topics.LABELS, "dataset").inc()
            elif (reason := label_fault(dataset, event)) is not None:
                await self.dead_letters.send(received.record, InvalidMessage(reason, "label"))
            else:
                labels.append(event)
        if not labels:
            return
        await learned.add_labels(self.runtime.pool, labels)
        for name in sorted({x.dataset for x in labels if x.source in HUMAN_SOURCES}):
            verified = await learned.verified_items(self.runtime.pool, name)
            VERIFIED_LABELS.labels(name).set(verified)
            request_id = schedule.label_request_id(name, verified, self.settings.retrain_every)
            if request_id:
                await self.make(request_id, name, "labels", str(verified))

    async def on_drift(self, batch: list[Received[DriftAlert]]) -> None:
        for alert in self.ours(topics.DRIFT, [r.event for r in batch]):
            request_id = schedule.drift_request_id(alert, self.settings.retrain_on_severity)
            if request_id:
                await self.make(request_id, alert.dataset, "drift", alert.event_id)

    async def on_models(self, batch: list[Received[ModelPromoted]]) -> None:
        champions = [
            e for e in self.ours(topics.MODELS, [r.event for r in batch]) if e.status == "champion"
        ]
        if champions:
            await learned.record_champions(self.runtime.pool, champions)

    async def make(self, request_id: str, dataset: str, trigger: str, ref: str) -> bool:
        """Make a request (once); wake the worker if it is new."""
        made = await retraining.request(self.runtime.pool, request_id, dataset, trigger, ref)
        if made:
            REQUESTS.labels(dataset, trigger).inc()
            log.info("dataset %s: retraining requested (%s %s)", dataset, trigger, ref)
            self.wake.set()
        return made

    def subscribe_all(self) -> None:
        handlers: list[tuple[str, type[Any], Any]] = [
            (topics.ITEMS_INGESTED, ItemIngested, self.on_items),
            (topics.LABELS, Label, self.on_labels),
            (topics.DRIFT, DriftAlert, self.on_drift),
            (topics.MODELS, ModelPromoted, self.on_models),
        ]
        for topic, event_type, handler in handlers:
            self.runtime.subscribe(topic, event_type, handler)
