"""Predictions in; decisions, review requests and pseudo-labels out (the router's main path).

Per batch: read the drift state, then per (dataset, model version) the learned thresholds and
the items' earlier predictions by other versions, and per dataset the near-duplicate window;
route each prediction with the pure core; store the decisions (so labels can be joined later)
and the queued signatures while publishing the decisions; then review requests and labels.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime

import numpy as np
from mitl_contracts import topics
from mitl_contracts.datasets import Catalog, UnknownDataset
from mitl_contracts.events import Decision, Event, Prediction
from mitl_policy import core
from mitl_policy.calibration import Thresholds
from mitl_policy.diversity import RecentSignatures, signature
from mitl_policy.policy_events import policy_changed
from mitl_runtime.consumer import Received
from mitl_runtime.dlq import DeadLetters, InvalidMessage
from mitl_runtime.service import ServiceRuntime

from mitl_router.metrics import DECISIONS, DRIFT_TIGHTENED, SPOT_CHECKS
from mitl_router.store import decisions, signatures, thresholds
from mitl_router.store.drift import drift_state


def check_prediction(prediction: Prediction, catalog: Catalog) -> None:
    """Raise InvalidMessage unless the prediction is over its dataset's exact label set."""
    try:
        dataset = catalog.get(prediction.dataset)
    except UnknownDataset as error:
        raise InvalidMessage(str(error), "dataset") from None
    if prediction.labels != dataset.labels:
        raise InvalidMessage(
            f"prediction labels {prediction.labels} are not dataset {dataset.name!r}'s "
            f"label set {dataset.labels}",
            "labels",
        )


class Router:
    def __init__(self, runtime: ServiceRuntime, catalog: Catalog, dead_letters: DeadLetters):
        self.runtime = runtime
        self.catalog = catalog
        self.dead_letters = dead_letters

    async def handle(self, batch: list[Received[Prediction]]) -> None:
        pool = self.runtime.pool
        drift = await drift_state(pool)
        now = datetime.now(UTC)
        for name in self.catalog.datasets:
            DRIFT_TIGHTENED.labels(name).set(name in drift.datasets)
        valid: list[Prediction] = []
        for received in batch:
            try:
                check_prediction(received.event, self.catalog)
            except InvalidMessage as error:
                await self.dead_letters.send(received.record, error)
                continue
            valid.append(received.event)
        groups: dict[tuple[str, str], list[Prediction]] = defaultdict(list)
        for prediction in valid:
            groups[(prediction.dataset, prediction.model_version)].append(prediction)
        learned: dict[tuple[str, str], Thresholds | None] = {}
        policy_events: list[Event] = []
        earlier = {}
        async with pool.acquire() as conn:
            for (name, version), members in groups.items():
                dataset = self.catalog.get(name)
                learned[(name, version)] = None
                if dataset.policy.learns_thresholds:
                    state, changed = await thresholds.current(
                        pool, name, version, dataset.labels, dataset.policy
                    )
                    learned[(name, version)] = state
                    if changed:
                        policy_events.append(
                            policy_changed(name, version, dataset.policy, state, now)
                        )
                ids = [p.item_id for p in members]
                earlier[(name, version)] = await decisions.earlier_predictions(
                    conn, name, version, ids
                )
            windows = {
                name: await signatures.window(conn, name, ds.policy.diversity_window)
                for name, ds in self.catalog.datasets.items()
                if ds.policy.diversity_weight > 0 and name in {n for n, _ in groups}
            }
        out_decisions: list[Event] = []
        reviews: list[Event] = []
        labels: list[Event] = []
        routed_pairs: list[tuple[Prediction, Decision]] = []
        queued: dict[str, list[tuple[str, np.ndarray]]] = defaultdict(list)
        for prediction in valid:
            key = (prediction.dataset, prediction.model_version)
            policy = self.catalog.get(prediction.dataset).policy
            window = windows.get(prediction.dataset)
            sig = None
            if window is not None and prediction.content.text is not None:
                sig = signature(prediction.content.text, policy.diversity_shingle)
            context = core.RouteContext(
                thresholds=learned[key],
                drift_segments=drift.segments_of(prediction.dataset),
                earlier=earlier[key].get(prediction.item_id),
                similarity=_similarity(window, prediction.item_id, sig),
            )
            routed = core.route(
                prediction,
                policy,
                now=now,
                drift_active=prediction.dataset in drift.datasets,
                context=context,
            )
            routed_pairs.append((prediction, routed.decision))
            out_decisions.append(routed.decision)
            if routed.review:
                reviews.append(routed.review)
                if window is not None and sig is not None:
                    window.add(prediction.item_id, sig)
                    queued[prediction.dataset].append((prediction.item_id, sig))
            if routed.label:
                labels.append(routed.label)
            DECISIONS.labels(
                prediction.dataset, routed.decision.route, prediction.model_version
            ).inc()
            if routed.decision.spot_check:
                SPOT_CHECKS.labels(prediction.dataset).inc()

        async def store() -> None:
            async with pool.acquire() as conn, conn.transaction():
                await decisions.record(conn, routed_pairs)
                for name, added in queued.items():
                    capacity = self.catalog.get(name).policy.diversity_window
                    await signatures.append(conn, name, added, capacity)

        # Storing and publishing the decisions are independent (a redelivered batch stores
        # and publishes the same event ids again), so they overlap. Decisions are durable
        # before anything else is sent: an audit reader never sees a label without the
        # decision behind it. The rest go to independent topics, together.
        await asyncio.gather(store(), self.runtime.publish(topics.DECISIONS, out_decisions))
        await asyncio.gather(
            self.runtime.publish(topics.REVIEW_REQUESTED, reviews),
            self.runtime.publish(topics.LABELS, labels),
            self.runtime.publish(topics.POLICIES, policy_events),
        )


def _similarity(window: RecentSignatures | None, item_id: str, sig: object) -> float:
    if window is None or sig is None:
        return 0.0
    return window.max_similarity(item_id, sig)  # type: ignore[arg-type]
