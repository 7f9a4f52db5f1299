"""Predictions in; decisions, review requests and pseudo-labels out (the router's main path).

Per batch, in three steps:

1. load the context (`load_context`, store reads only) for the valid predictions (invalid
   ones are dead-lettered): the drift state, then per (dataset,
   model version) the learned thresholds and the items' earlier predictions by other
   versions, per dataset whose calibration reviews may be capped the ones still queued,
   and per dataset the near-duplicate window;
2. route each prediction with the pure core (`mitl_router.core.route_batch`, which calls
   `mitl_policy.core.route`);
3. persist and publish (`persist_and_publish`): store the decisions (so labels can be joined
   later) and the queued signatures while publishing the decisions; then review requests,
   labels and policy changes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from mitl_contracts import topics
from mitl_contracts.datasets import Catalog
from mitl_contracts.events import Prediction
from mitl_policy.calibration_cap import caps_any, queued_pools
from mitl_runtime.consumer import Received
from mitl_runtime.dlq import DeadLetters, InvalidMessage
from mitl_runtime.service import ServiceRuntime

from mitl_router import core
from mitl_router.core import BatchContext, RoutedBatch
from mitl_router.metrics import DECISIONS, DRIFT_TIGHTENED, SPOT_CHECKS
from mitl_router.store import decisions, signatures, thresholds
from mitl_router.store.drift import drift_state


class Router:
    def __init__(self, runtime: ServiceRuntime, catalog: Catalog, dead_letters: DeadLetters):
        self.runtime = runtime
        self.catalog = catalog
        self.dead_letters = dead_letters

    async def handle(self, batch: list[Received[Prediction]]) -> None:
        valid = await self.valid(batch)
        context = await self.load_context(valid)
        routed = core.route_batch(valid, self.catalog, context)
        self.count(context, routed)
        await self.persist_and_publish(routed)

    async def valid(self, batch: list[Received[Prediction]]) -> list[Prediction]:
        """The batch's valid predictions; the others are dead-lettered."""
        valid: list[Prediction] = []
        for received in batch:
            try:
                core.check_prediction(received.event, self.catalog)
            except InvalidMessage as error:
                await self.dead_letters.send(received.record, error)
                continue
            valid.append(received.event)
        return valid

    async def load_context(self, valid: list[Prediction]) -> BatchContext:
        """What routing `valid` reads from Postgres: the drift state, then thresholds, earlier
        predictions and near-duplicate windows; and the batch's clock."""
        pool = self.runtime.pool
        context = BatchContext(now=datetime.now(UTC), drift=await drift_state(pool))
        groups = core.groups(valid)
        async with pool.acquire() as conn:
            for (name, version), members in groups.items():
                dataset = self.catalog.get(name)
                context.learned[(name, version)] = None
                if dataset.policy.learns_thresholds:
                    state, changed = await thresholds.current(pool, dataset, version)
                    context.learned[(name, version)] = state
                    if changed:
                        context.changed.append((name, version))
                learned = context.learned[(name, version)]
                if (
                    dataset.task == "single"
                    and name not in context.calibration_queued
                    and caps_any(learned, dataset.labels, dataset.policy)
                ):
                    routing = [p.item_id for p in valid if p.dataset == name]
                    queued = await decisions.queued_calibration(conn, name, routing)
                    context.calibration_queued[name] = queued_pools(queued, dataset.policy)
                ids = [p.item_id for p in members]
                context.earlier[(name, version)] = await decisions.earlier_predictions(
                    conn, name, version, ids
                )
            for name in core.diversity_datasets(self.catalog, groups):
                capacity = self.catalog.get(name).policy.diversity_window
                context.windows[name] = await signatures.window(conn, name, capacity)
        return context

    def count(self, context: BatchContext, routed: RoutedBatch) -> None:
        for name in self.catalog.datasets:
            DRIFT_TIGHTENED.labels(name).set(name in context.drift.datasets)
        for prediction, decision in routed.pairs:
            DECISIONS.labels(prediction.dataset, decision.route, prediction.model_version).inc()
            if decision.spot_check:
                SPOT_CHECKS.labels(prediction.dataset).inc()

    async def persist_and_publish(self, routed: RoutedBatch) -> None:
        pool = self.runtime.pool

        async def store() -> None:
            async with pool.acquire() as conn, conn.transaction():
                await decisions.record(conn, routed.pairs)
                for name, added in routed.queued.items():
                    capacity = self.catalog.get(name).policy.diversity_window
                    await signatures.append(conn, name, added, capacity)

        # Storing and publishing the decisions are independent (a redelivered batch stores
        # and publishes the same event ids again), so they overlap. Decisions are durable
        # before anything else is sent: an audit reader never sees a label without the
        # decision behind it. The rest go to independent topics, together.
        await asyncio.gather(store(), self.runtime.publish(topics.DECISIONS, routed.decisions))
        await asyncio.gather(
            self.runtime.publish(topics.REVIEW_REQUESTED, routed.reviews),
            self.runtime.publish(topics.LABELS, routed.labels),
            self.runtime.publish(topics.POLICIES, routed.policy_events),
        )
