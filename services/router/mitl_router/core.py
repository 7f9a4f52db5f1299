"""The router's pure step: a batch of valid predictions, with what was read for it from
Postgres, to decisions, review requests, pseudo-labels and policy changes. No I/O.

`mitl_policy.core.route` decides each prediction; this module groups a batch, hands each
prediction the context of its dataset and model version, keeps the near-duplicate window
moving within the batch and collects what is to be stored and published.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from mitl_contracts.datasets import Catalog, UnknownDataset
from mitl_contracts.events import Decision, Event, Prediction
from mitl_policy import core
from mitl_policy.calibration import Thresholds
from mitl_policy.calibration_cap import Candidate, over_cap
from mitl_policy.diversity import RecentSignatures, signature
from mitl_policy.escalation import EarlierPrediction
from mitl_policy.multilabel import route_multilabel
from mitl_policy.policy_events import policy_changed
from mitl_policy.spans import route_spans
from mitl_runtime.dlq import InvalidMessage

Key = tuple[str, str]
"""(dataset, model version)."""


@dataclass(frozen=True)
class DriftState:
    """`datasets`: datasets with any alert open (their policy is tightened); `segments`: the
    open alerts' segments per dataset (a "class:<label>" segment escalates that class)."""

    datasets: frozenset[str] = frozenset()
    segments: dict[str, frozenset[str]] = field(default_factory=dict)

    def segments_of(self, dataset: str) -> frozenset[str]:
        return self.segments.get(dataset, frozenset())


@dataclass
class BatchContext:
    """What routing a batch needs besides the predictions, read before any is routed.

    `learned`: the thresholds per (dataset, model version) (None where the dataset does not
    learn them); `changed`: the keys whose thresholds were learned afresh and changed, in the
    order they were read; `earlier`: per key, the items' earlier predictions by other versions;
    `windows`: the near-duplicate window of each dataset that weighs diversity. The windows are
    the batch's own copies: routing adds each item it queues for review, so later items of the
    batch are compared with it."""

    now: datetime
    drift: DriftState
    learned: dict[Key, Thresholds | None] = field(default_factory=dict)
    changed: list[Key] = field(default_factory=list)
    earlier: dict[Key, dict[str, EarlierPrediction]] = field(default_factory=dict)
    windows: dict[str, RecentSignatures] = field(default_factory=dict)
    # Per single-label dataset whose calibration reviews may be capped (some class drawn at a
    # raised rate): the calibration reviews queued and not yet labeled, per pool
    # (mitl_policy.calibration_cap). Routing adds the batch's own as it queues them.
    calibration_queued: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class RoutedBatch:
    """What a routed batch stores and publishes, in the order of its predictions."""

    pairs: list[tuple[Prediction, Decision]] = field(default_factory=list)
    decisions: list[Event] = field(default_factory=list)
    reviews: list[Event] = field(default_factory=list)
    labels: list[Event] = field(default_factory=list)
    policy_events: list[Event] = field(default_factory=list)
    queued: dict[str, list[tuple[str, np.ndarray]]] = field(
        default_factory=lambda: defaultdict(list)
    )


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
    try:
        dataset.check_prediction(prediction)
    except ValueError as error:
        field = "spans" if dataset.task == "spans" else "label_probabilities"
        raise InvalidMessage(str(error), field) from None


def groups(predictions: Iterable[Prediction]) -> dict[Key, list[Prediction]]:
    """The predictions per (dataset, model version), in order of first appearance."""
    grouped: dict[Key, list[Prediction]] = defaultdict(list)
    for prediction in predictions:
        grouped[(prediction.dataset, prediction.model_version)].append(prediction)
    return grouped


def diversity_datasets(catalog: Catalog, keys: Iterable[Key]) -> list[str]:
    """The datasets among `keys` whose policy weighs near-duplicates, in catalog order."""
    present = {name for name, _ in keys}
    return [
        name
        for name, ds in catalog.datasets.items()
        if ds.policy.diversity_weight > 0 and name in present
    ]


def route_batch(
    predictions: list[Prediction], catalog: Catalog, context: BatchContext
) -> RoutedBatch:
    """Route every prediction (all valid, and all with their key in `context`)."""
    out = RoutedBatch()
    for name, version in context.changed:
        state = context.learned[(name, version)]
        assert state is not None  # changed thresholds are learned ones
        out.policy_events.append(
            policy_changed(name, version, catalog.get(name).policy, state, context.now)
        )
    capped = capped_calibration(predictions, catalog, context)
    for prediction in predictions:
        key = (prediction.dataset, prediction.model_version)
        policy = catalog.get(prediction.dataset).policy
        window = context.windows.get(prediction.dataset)
        sig = None
        if window is not None and prediction.content.text is not None:
            sig = signature(prediction.content.text, policy.diversity_shingle)
        route_context = core.RouteContext(
            thresholds=context.learned[key],
            drift_segments=context.drift.segments_of(prediction.dataset),
            earlier=context.earlier[key].get(prediction.item_id),
            similarity=similarity(window, prediction.item_id, sig),
            calibration_capped=prediction.event_id in capped,
        )
        drift_active = prediction.dataset in context.drift.datasets
        dataset = catalog.get(prediction.dataset)
        if dataset.task == "multilabel":
            routed = route_multilabel(
                prediction,
                policy,
                dataset.labels,
                now=context.now,
                drift_active=drift_active,
                context=route_context,
            )
        elif dataset.task == "spans":
            routed = route_spans(
                prediction,
                policy,
                now=context.now,
                drift_active=drift_active,
                context=route_context,
            )
        else:
            routed = core.route(
                prediction, policy, now=context.now, drift_active=drift_active,
                context=route_context,
            )  # fmt: skip
        out.pairs.append((prediction, routed.decision))
        out.decisions.append(routed.decision)
        if routed.review:
            out.reviews.append(routed.review)
            if window is not None and sig is not None:
                window.add(prediction.item_id, sig)
                out.queued[prediction.dataset].append((prediction.item_id, sig))
        if routed.label:
            out.labels.append(routed.label)
    return out


def capped_calibration(
    predictions: list[Prediction], catalog: Catalog, context: BatchContext
) -> set[str]:
    """The event ids of predictions drawn at a raised calibration rate that find the unspent
    budget already queued (calibration_cap.over_cap), per (dataset, model version) in order
    of first appearance; each group's queued reviews count against the next group's."""
    capped: set[str] = set()
    for (name, version), members in groups(predictions).items():
        queued = context.calibration_queued.get(name)
        if queued is None:
            continue
        candidates = [Candidate(p.item_id, version, *p.top) for p in members]
        policy = catalog.get(name).policy
        flags, context.calibration_queued[name] = over_cap(
            candidates, context.learned[(name, version)], policy, queued
        )
        capped.update(p.event_id for p, flag in zip(members, flags, strict=True) if flag)
    return capped


def similarity(window: RecentSignatures | None, item_id: str, sig: np.ndarray | None) -> float:
    if window is None or sig is None:
        return 0.0
    return window.max_similarity(item_id, sig)
