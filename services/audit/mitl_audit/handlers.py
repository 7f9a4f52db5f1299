"""The audit service's paths in: every audited event, from whichever topic (access changes
too: client keys, users and roles), into the chained log; ingested items' content into
audit.items."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mitl_contracts import topics
from mitl_contracts.events import (
    AccessChanged,
    Decision,
    DriftAlert,
    Event,
    ItemIngested,
    Label,
    ModelPromoted,
    PolicyChanged,
)
from mitl_runtime.consumer import Received
from mitl_runtime.dlq import DeadLetters, InvalidMessage
from mitl_runtime.service import ServiceRuntime

from mitl_audit.core.entries import Unloggable, entry_for
from mitl_audit.core.items import item_row
from mitl_audit.metrics import CHAIN_HEAD, ITEMS_RECORDED, OVERRIDES, ROWS_APPENDED
from mitl_audit.store import items, log

E = TypeVar("E", bound=Event)
Row = TypeVar("Row")

AUDITED: dict[str, type[Event]] = {
    topics.DECISIONS: Decision,
    topics.LABELS: Label,
    topics.MODELS: ModelPromoted,
    topics.DRIFT: DriftAlert,
    topics.POLICIES: PolicyChanged,
    topics.ACCESS: AccessChanged,
}


@dataclass
class Recorder:
    runtime: ServiceRuntime
    dead_letters: DeadLetters
    head_seq: int = field(default=0, init=False)

    async def record(self, batch: Sequence[Received[Any]]) -> None:
        """Log a consumed batch; returns once its rows are committed (or were already there).
        An event the log cannot hold is dead-lettered; the rest of the batch is still logged."""
        entries = await self.storable(batch, entry_for)
        rows = await log.append(self.runtime.pool, entries)
        for row in rows:
            ROWS_APPENDED.labels(row.entry.kind).inc()
            if row.entry.is_override:
                OVERRIDES.labels(row.entry.dataset).inc()
        if rows:
            self.saw_head(rows[-1].seq)

    async def record_items(self, batch: Sequence[Received[ItemIngested]]) -> None:
        """Keep ingested items' content (the first event of an item wins)."""
        rows = await self.storable(batch, item_row)
        new = await items.record(self.runtime.pool, rows)
        for dataset, n in Counter(new).items():
            ITEMS_RECORDED.labels(dataset).inc(n)

    async def storable(self, batch: Sequence[Received[E]], row_of: Callable[[E], Row]) -> list[Row]:
        """`row_of` each event of `batch`; an event it finds Unloggable is dead-lettered with
        the reason instead, and the rest are still kept."""
        rows: list[Row] = []
        for received in batch:
            try:
                rows.append(row_of(received.event))
            except Unloggable as error:
                await self.dead_letters.send(received.record, InvalidMessage(str(error), "audit"))
        return rows

    def saw_head(self, seq: int) -> None:
        """Batches finish in any order; the gauge only moves forward."""
        self.head_seq = max(self.head_seq, seq)
        CHAIN_HEAD.set(self.head_seq)

    def subscribe_all(self) -> None:
        for topic, event_type in AUDITED.items():
            self.runtime.subscribe(topic, event_type, self.record)
        self.runtime.subscribe(topics.ITEMS_INGESTED, ItemIngested, self.record_items)
