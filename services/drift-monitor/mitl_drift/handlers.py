"""Drift-monitor's one path for both streams: count new events into their monitors under a
row lock, queue the alerts they raise in the same transaction, publish them once durable."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mitl_contracts.datasets import Catalog, UnknownDataset
from mitl_contracts.events import DriftAlert, Label, Prediction
from mitl_runtime.consumer import Received
from mitl_runtime.dlq import DeadLetters, InvalidMessage, SourceRecord
from mitl_runtime.service import ServiceRuntime

from mitl_drift import core, outbox, store
from mitl_drift.config import DriftConfig
from mitl_drift.metrics import (
    ALERT_ACTIVE,
    ALERT_SEVERITY,
    DUPLICATES,
    HUMAN_LABELS,
    PREDICTIONS,
    STATISTIC,
    TRANSITIONS,
)
from mitl_drift.settings import Settings

PUBLISH_BATCH = 100
SEVERITY_LEVELS = {"warning": 1, "critical": 2}


@dataclass
class Counted:
    """What one batch newly counted into one monitor."""

    state: core.MonitorState
    items: list[Any]


@dataclass
class DriftMonitor:
    """Handlers of mitl.predictions.v1 and mitl.labels.v1. A batch returns once its counts are
    committed and the alerts they raised are published; events of unknown datasets or with
    another label set are dead-lettered."""

    runtime: ServiceRuntime
    catalog: Catalog
    settings: Settings
    config: DriftConfig = field(init=False)
    dead_letters: DeadLetters = field(init=False)
    _pruned_at: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.config = self.settings.drift_config()
        self.dead_letters = self.runtime.dead_letters(f"mitl-{self.runtime.name}")

    async def on_predictions(self, batch: list[Received[Prediction]]) -> None:
        widths: dict[tuple[str, str], int] = {}

        def extract(event: Prediction, state: core.MonitorState) -> Any:
            # The first sketch fixes the width, also within the very batch that brings it.
            key = (state.dataset, state.model_version)
            expected = state.predictions.sketch_dim or widths.get(key)
            observation = core.observe(event, state.labels, expected)
            if observation.sketch is not None:
                widths.setdefault(key, len(observation.sketch))
            return observation

        for counted in await self._count("prediction", batch, extract, core.observe_predictions):
            state = counted.state
            PREDICTIONS.labels(state.dataset, state.model_version).inc(len(counted.items))

    async def on_labels(self, batch: list[Received[Label]]) -> None:
        """Only human labels given for a model's label say anything about agreement: those
        given with the suggestion shown count towards agreement_drop, blind ones (spot
        checks) towards spot_check_drop."""
        human = [r for r in batch if core.human_agreement(r.event) is not None]
        shown = [r for r in human if not core.blind(r.event)]
        blind = [r for r in human if core.blind(r.event)]

        def extract(event: Label, _: core.MonitorState) -> Any:
            return core.human_agreement(event)

        for stream, received, observe in (
            ("label", shown, core.observe_agreements),
            ("spot_check", blind, core.observe_spot_checks),
        ):
            if not received:
                continue
            for counted in await self._count(stream, received, extract, observe):
                for agreed, n in Counter(counted.items).items():
                    blind_ = str(stream == "spot_check").lower()
                    HUMAN_LABELS.labels(counted.state.dataset, str(agreed).lower(), blind_).inc(n)

    async def _count(
        self,
        stream: str,
        batch: Sequence[Received[Any]],
        extract: Callable[[Any, core.MonitorState], Any],
        observe: Callable[..., list[DriftAlert]],
    ) -> list[Counted]:
        rejected: list[tuple[SourceRecord, InvalidMessage]] = []
        groups: dict[tuple[str, str], list[Received[Any]]] = {}
        for received in batch:
            event = received.event
            try:
                self.catalog.get(event.dataset)
            except UnknownDataset as error:
                rejected.append((received.record, InvalidMessage(str(error), "dataset")))
                continue
            groups.setdefault((event.dataset, event.model_version), []).append(received)

        counted: list[Counted] = []
        alerts: list[DriftAlert] = []
        now = datetime.now(UTC)
        async with self.runtime.pool.acquire() as conn, conn.transaction():
            # In sorted order, so that replicas locking the same monitors cannot deadlock.
            for dataset, model_version in sorted(groups):
                labels = self.catalog.get(dataset).labels
                state = await store.lock_monitor(conn, dataset, model_version, labels)
                valid: list[tuple[str, Any]] = []
                for received in groups[(dataset, model_version)]:
                    try:
                        valid.append((received.event.event_id, extract(received.event, state)))
                    except core.Rejected as bad:
                        rejected.append((received.record, InvalidMessage(str(bad), bad.kind)))
                fresh = await store.claim(conn, stream, [event_id for event_id, _ in valid])
                items = []
                for event_id, item in valid:
                    if event_id in fresh:
                        fresh.discard(event_id)  # the same event twice in one batch counts once
                        items.append(item)
                DUPLICATES.labels(stream).inc(len(valid) - len(items))
                raised = observe(state, items, self.config, now)
                await store.save_monitor(conn, state, self.config)
                await outbox.queue_alerts(conn, raised)
                alerts += raised
                counted.append(Counted(state, items))

        for record, reason in rejected:
            await self.dead_letters.send(record, reason)
        for alert in alerts:
            TRANSITIONS.labels(alert.dataset, alert.statistic, alert.state, alert.severity).inc()
        await self.publish_pending()
        await self.export_gauges(sorted({dataset for dataset, _ in groups}))
        await self._prune_now_and_then()
        return counted

    async def publish_pending(self) -> None:
        """Publish queued alerts, oldest first, and mark them published once acknowledged."""
        await outbox.publish_pending(self.runtime, PUBLISH_BATCH)

    async def export_gauges(self, datasets: Sequence[str] | None = None) -> None:
        """Set the gauges of `datasets` (all when None) from the shared state in Postgres."""
        if datasets is not None and not datasets:
            return
        active: Counter[tuple[str, str]] = Counter()
        for row in await store.statistics(self.runtime.pool, datasets):
            key = (row["dataset"], row["statistic"])
            active[key] += row["active"]
            labels = (row["dataset"], row["model_version"], row["statistic"], row["segment"])
            if row["value"] is not None:
                STATISTIC.labels(*labels).set(row["value"])
            level = SEVERITY_LEVELS.get(row["severity"], 0) if row["active"] else 0
            ALERT_SEVERITY.labels(*labels).set(level)
        for (dataset, statistic), n in active.items():
            ALERT_ACTIVE.labels(dataset, statistic).set(n)

    async def _prune_now_and_then(self) -> None:
        now = time.monotonic()
        if self._pruned_at is None or now - self._pruned_at >= self.settings.prune_interval_s:
            self._pruned_at = now
            await store.prune_seen(self.runtime.pool, self.settings.seen_retention_hours)
