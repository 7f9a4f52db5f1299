"""Human labels in: verified outcomes, relearned thresholds, disagreements to experts.

A label from an annotator or expert is joined to the router's decision for the same item and
model version (else the item's latest decision) and stored as an outcome, once per label
event. Then, per dataset that learns thresholds, the thresholds of every model version in
force are recomputed from the outcomes (one recompute per batch, not per label), and a change
in what is accepted is published as PolicyChanged on mitl.policies.v1. An item whose
annotators gave different labels, and that no expert has settled, is sent to the expert queue.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mitl_contracts import topics
from mitl_contracts.datasets import Catalog
from mitl_contracts.events import Event, Label
from mitl_policy.bounds import lower_bound, upper_bound
from mitl_policy.policy_events import policy_changed
from mitl_policy.requests import disagreement_request
from mitl_policy.tasks import outcome_confidences
from mitl_policy.verdicts import HUMAN_SOURCES, annotators_disagree, joined
from mitl_runtime.consumer import Received
from mitl_runtime.service import ServiceRuntime

from mitl_router.metrics import (
    DISAGREEMENTS,
    OUTCOMES,
    SPOT_CHECK_PRECISION_BOUND,
    SPOT_CHECK_PRECISION_UPPER,
    SPOT_CHECKED,
    TARGET_PRECISION,
    THRESHOLD,
)
from mitl_router.store import decisions, outcomes, thresholds


class Feedback:
    def __init__(self, runtime: ServiceRuntime, catalog: Catalog):
        self.runtime = runtime
        self.catalog = catalog

    async def handle(self, batch: list[Received[Label]]) -> None:
        pool = self.runtime.pool
        human = [
            r.event
            for r in batch
            if r.event.source in HUMAN_SOURCES and r.event.dataset in self.catalog.datasets
        ]
        touched: dict[str, set[str]] = {}
        disputed: list[tuple[str, str]] = []
        async with pool.acquire() as conn, conn.transaction():
            for label in human:
                row = await decisions.find(conn, label.dataset, label.item_id, label.model_version)
                if row is None:
                    OUTCOMES.labels(label.dataset, "unmatched").inc()
                    continue
                outcome = joined(
                    row,
                    event_id=label.event_id,
                    item_id=label.item_id,
                    label=label.label,
                    source=label.source,
                    occurred_at=label.occurred_at,
                    label_confidences=outcome_confidences(decisions.prediction_of(row)),
                )
                if await outcomes.record(conn, outcome, label.dataset):
                    correct = outcome.label == outcome.predicted_label
                    OUTCOMES.labels(label.dataset, "confirmed" if correct else "overridden").inc()
                touched.setdefault(label.dataset, set()).add(row["model_version"])
                if label.source == "annotator":
                    disputed.append((label.dataset, label.item_id))
        await self._relearn(touched)
        await self._watch_spot_checks(touched)
        await self._escalate(disputed)

    async def _watch_spot_checks(self, touched: dict[str, set[str]]) -> None:
        """Export how the spot checks of accepted labels bear out the promised precision."""
        for name, versions in touched.items():
            policy = self.catalog.get(name).policy
            if policy.target_precision is None:
                continue
            TARGET_PRECISION.labels(name).set(policy.target_precision)
            async with self.runtime.pool.acquire() as conn:
                for version in sorted(versions):
                    confirmed, answered = await outcomes.spot_check_counts(conn, name, version)
                    if not answered:
                        continue
                    method, level = policy.bound, policy.confidence_level
                    low = lower_bound(confirmed, answered, method, level)
                    high = upper_bound(confirmed, answered, method, level)
                    SPOT_CHECKED.labels(name, version).set(answered)
                    SPOT_CHECK_PRECISION_BOUND.labels(name, version).set(low)
                    SPOT_CHECK_PRECISION_UPPER.labels(name, version).set(high)

    async def _relearn(self, touched: dict[str, set[str]]) -> None:
        changes: list[Event] = []
        for name, versions in touched.items():
            dataset = self.catalog.get(name)
            if not dataset.policy.learns_thresholds:
                continue
            in_force = set(await thresholds.versions(self.runtime.pool, name))
            if dataset.policy.new_model_start == "inherit":
                # Every version learns from every version's outcomes: all of them change.
                versions = versions | in_force
            for version in sorted(versions):
                learned, changed = await thresholds.recompute(self.runtime.pool, dataset, version)
                for label, entry in learned.classes.items():
                    value = entry.threshold if entry.threshold is not None else 1.0
                    THRESHOLD.labels(name, version, label).set(value)
                if changed:
                    now = datetime.now(UTC)
                    changes.append(policy_changed(name, version, dataset.policy, learned, now))
        await self.runtime.publish(topics.POLICIES, changes)

    async def _escalate(self, disputed: list[tuple[str, str]]) -> None:
        requests: list[Event] = []
        async with self.runtime.pool.acquire() as conn:
            for name, item_id in sorted(set(disputed)):
                policy = self.catalog.get(name).policy
                if not policy.escalate_on_disagreement:
                    continue
                found = await outcomes.of_item(conn, name, item_id)
                if not annotators_disagree((o.source, o.label) for o in found):
                    continue
                row = await decisions.find(conn, name, item_id, None)
                if row is None:
                    continue
                given = [o.label for o in found if o.source == "annotator"]
                requests.append(
                    disagreement_request(
                        decisions.prediction_of(row),
                        row["decision_event_id"],
                        row["policy_version"],
                        given,
                    )
                )
                DISAGREEMENTS.labels(name).inc()
        await self.runtime.publish(topics.REVIEW_REQUESTED, requests)
