"""The routing decision: pure, synchronous, deterministic for a given prediction, policy and
context (learned thresholds, drift segments, earlier prediction, near-duplicate similarity).

Rules, first match wins:
1. an escalation rule matches (see escalation.py)             -> escalate to an expert
2. calibration: the prediction is in the calibration sample (a draw fixed by item id and
   model version under the class's calibration rate in force, fixed or adaptive, and at a
   raised rate within the unspent budget: calibration_cap.py), or
   without one the class is cold (nothing learned yet, or under min_verified verified
   items); and confidence >=
   min_accept_threshold                                       -> blind calibration review,
                                                                 ahead of the queue, random order
3. confidence at or above the class's accept threshold        -> accept as a pseudo-label
   (and, for a deterministic random share, also send to a blind spot-check review, ahead
   of the queue like a calibration review)
4. otherwise -> review by an annotator, priority = uncertainty x (1 - diversity penalty)
The accept threshold is the policy's raw `accept_threshold`, or with a `target_precision` the
threshold learned for the predicted class (calibration.py). A drift alert open for the dataset
tightens the policy (see `effective_policy` and `accept_gate`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from mitl_contracts.datasets import Policy
from mitl_contracts.events import Decision, Label, Prediction, ReviewRequested, Route
from mitl_contracts.spans import Span

from mitl_policy.calibration import (
    Thresholds,
    in_calibration_sample,
    rate_in_force,
    samples_calibration,
)
from mitl_policy.escalation import EarlierPrediction, escalation_reason, model_changed
from mitl_policy.requests import accepted_label, item_of, review_request
from mitl_policy.uncertainty import uncertainty

# Calibration reviews and spot checks come before any active-learning review (whose
# priorities are <= 1).
CALIBRATION_PRIORITY = 1.0


@dataclass(frozen=True)
class RouteContext:
    """What the router knows besides the prediction. `thresholds` is the state learned for
    the prediction's dataset and model version (None: nothing learned yet, all classes cold);
    `similarity` is the item's estimated Jaccard similarity to recently queued items."""

    thresholds: Thresholds | None = None
    drift_segments: frozenset[str] = frozenset()
    earlier: EarlierPrediction | None = None
    similarity: float = 0.0
    # Drawn at a raised calibration rate while the unspent budget is already queued
    # (calibration_cap.over_cap): routed as if not drawn, recorded at calibration rate 0.
    calibration_capped: bool = False


@dataclass(frozen=True)
class Routed:
    decision: Decision
    review: ReviewRequested | None = None
    label: Label | None = None


@dataclass(frozen=True)
class AcceptGate:
    """The accept threshold (None: not accepted) and spot-check share in force for one class;
    `calibrate` sends the item to a blind review at the head of the queue."""

    threshold: float | None
    spot_check_rate: float
    recorded: dict[str, float]
    calibrate: bool = False
    why_not: str = ""
    detail: str = ""


def effective_policy(policy: Policy, drift_active: bool) -> Policy:
    if not drift_active:
        return policy
    return policy.model_copy(
        update={
            "version": f"{policy.version}+drift",
            "accept_threshold": min(1.0, policy.accept_threshold + policy.drift_threshold_raise),
            "spot_check_rate": max(policy.spot_check_rate, policy.drift_spot_check_rate),
        }
    )


def unit_draw(*parts: str) -> float:
    """A uniform number in [0, 1) fixed by `parts`: the same item always draws the same, so a
    redelivered prediction is routed the same way on any replica."""
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def accept_gate(
    label: str,
    confidence: float,
    policy: Policy,
    thresholds: Thresholds | None,
    drift_active: bool,
    *,
    sampled: bool = False,
    calibration_rate: float | None = None,
) -> AcceptGate:
    """The gate for one prediction; `sampled`: it is in the calibration sample
    (calibration.in_calibration_sample) drawn at `calibration_rate` (None: the policy's
    fixed rate), so it is reviewed blind whatever its class's threshold, which is still
    recorded, as is the rate (so the sample can be told apart later)."""
    gate = _class_gate(label, confidence, policy, thresholds, drift_active)
    rate = policy.calibration_rate if calibration_rate is None else calibration_rate
    if samples_calibration(policy):
        gate = replace(gate, recorded=gate.recorded | {"calibration_rate": rate})
    if sampled:
        why = f"calibration sample (rate {rate:g}), reviewed blind"
        return replace(gate, calibrate=True, why_not=why)
    return gate


def _class_gate(
    label: str,
    confidence: float,
    policy: Policy,
    thresholds: Thresholds | None,
    drift_active: bool,
) -> AcceptGate:
    """`policy` is already the effective one; learned thresholds get the drift raise here.
    Only items that could ever be accepted (confidence >= min_accept_threshold) are worth a
    calibration review; the others are ordinary active-learning reviews."""
    floor = {"escalation_floor": policy.escalation_floor}
    if not policy.learns_thresholds:
        recorded = floor | {
            "accept_threshold": policy.accept_threshold,
            "spot_check_rate": policy.spot_check_rate,
        }
        return AcceptGate(policy.accept_threshold, policy.spot_check_rate, recorded)
    raise_by = policy.drift_threshold_raise if drift_active else 0.0
    rate = thresholds.spot_check_rate if thresholds else policy.spot_check_ceiling
    rate = max(rate, policy.spot_check_rate)
    recorded = floor | {"target_precision": float(policy.target_precision or 0.0)}
    recorded["spot_check_rate"] = rate
    for name, known in (thresholds.classes if thresholds else {}).items():
        if known.threshold is not None:
            recorded[f"accept_threshold.{name}"] = min(1.0, known.threshold + raise_by)
    entry = thresholds.classes.get(label) if thresholds else None
    verified = entry.verified if entry else 0
    cold = thresholds is None or thresholds.needs_calibration(
        label, policy.class_min_verified(len(thresholds.classes))
    )
    if cold and confidence >= policy.min_accept_threshold and not samples_calibration(policy):
        why = f"cold start: {label} has {verified} verified items; calibration sample"
        return AcceptGate(None, rate, recorded, calibrate=True, why_not=why)
    if cold:
        why = f"cold start: {label} has {verified} verified items"
        return AcceptGate(None, rate, recorded, why_not=why)
    if entry is None or entry.threshold is None:
        why = f"{label} has no threshold reaching precision {policy.target_precision}"
        return AcceptGate(None, rate, recorded, why_not=why)
    threshold = min(1.0, entry.threshold + raise_by)
    recorded |= {"accept_threshold": threshold, "lower_bound": entry.lower_bound}
    detail = f" (precision bound {entry.lower_bound:.4f}, {entry.support} verified above)"
    return AcceptGate(threshold, rate, recorded, detail=detail)


def diversity_penalty(policy: Policy, context: RouteContext) -> float:
    """The factor on an item's active-learning priority for its similarity to queued items."""
    return 1.0 - policy.diversity_weight * min(1.0, max(0.0, context.similarity))


def calibration_priority(prediction: Prediction) -> float:
    """A calibration review's or a spot check's priority: ahead of every other review, in a
    random order fixed by the item. Both are random samples whose worth is the verdict, and
    only a labeled one counts: at its own (low, confident) uncertainty a spot check waited
    behind the whole active-learning queue, so on a stream that keeps people busy the
    accepted precision was never measured."""
    return CALIBRATION_PRIORITY + unit_draw("calibrate", prediction.dataset, prediction.item_id)


def spot_checked(prediction: Prediction, rate: float) -> bool:
    """Whether an accepted item is also sent to a blind spot check (a draw fixed by the item)."""
    return unit_draw("spot", prediction.dataset, prediction.item_id) < rate


def accepted_choice(
    prediction: Prediction,
    reason: str,
    priority: float,
    recorded: dict[str, float],
    spot_check_rate: float,
) -> Choice:
    """An accept; spot-checked at `spot_check_rate`, its review then ahead of the queue."""
    if spot_checked(prediction, spot_check_rate):
        first = calibration_priority(prediction)
        return Choice("accept", reason, first, recorded, spot_check=True)
    return Choice("accept", reason, priority, recorded)


@dataclass(frozen=True)
class Choice:
    """The route chosen for a prediction, why, and what the decision records with it."""

    route: Route
    reason: str
    priority: float
    thresholds: dict[str, float]
    spot_check: bool = False
    calibration: bool = False


def routed(
    prediction: Prediction,
    policy: Policy,
    choice: Choice,
    *,
    now: datetime,
    predicted_label: str,
    confidence: float,
    decided: Mapping[str, Any] | None = None,
    asked: Mapping[str, Any] | None = None,
    given: Mapping[str, list[str] | list[Span]] | None = None,
) -> Routed:
    """The events a choice publishes: the decision (with the task's own fields `decided`), a
    review request unless accepted or when spot-checked (blind for spot checks and calibration
    reviews; `asked` overrides what it carries), and an accepted item's label (with the
    task's label set or span set `given`)."""
    decision = Decision(
        **item_of(prediction),
        event_id=f"decision-{prediction.event_id}",
        occurred_at=now,
        prediction_event_id=prediction.event_id,
        route=choice.route,
        reason=choice.reason,
        predicted_label=predicted_label,
        confidence=confidence,
        priority=choice.priority,
        spot_check=choice.spot_check,
        model_version=prediction.model_version,
        policy_version=policy.version,
        thresholds=choice.thresholds,
        **(decided or {}),
    )
    review = None
    if choice.route != "accept" or choice.spot_check:
        blind = choice.spot_check or choice.calibration
        review = review_request(prediction, decision, blind=blind)
        if asked:
            review = review.model_copy(update=dict(asked))
    auto_label = None
    if choice.route == "accept":
        auto_label = accepted_label(prediction, decision, predicted_label, **(given or {}))
    return Routed(decision, review, auto_label)


def route(
    prediction: Prediction,
    policy: Policy,
    *,
    now: datetime,
    drift_active: bool = False,
    context: RouteContext | None = None,
) -> Routed:
    """Route one prediction; `now` stamps the events (time is an input, so this stays pure)."""
    context = context or RouteContext()
    policy = effective_policy(policy, drift_active)
    label, confidence = prediction.top
    priority = uncertainty(prediction.probabilities, policy.uncertainty) * diversity_penalty(
        policy, context
    )
    version = prediction.model_version
    known = context.thresholds
    rate = 0.0 if context.calibration_capped else rate_in_force(known, label, policy)
    sampled = in_calibration_sample(prediction.item_id, version, confidence, policy, rate)
    gate = accept_gate(
        label, confidence, policy, known, drift_active, sampled=sampled, calibration_rate=rate
    )
    escalation = escalation_reason(
        prediction, policy, drift_segments=context.drift_segments, earlier=context.earlier
    )
    recorded = gate.recorded
    changed = model_changed(prediction, policy, context.earlier, label, queue="annotator")
    if escalation is not None:
        choice = Choice("escalate", escalation, priority, recorded)
    elif changed is not None:
        choice = Choice("review", changed, priority, recorded)
    elif gate.calibrate:
        calibrating = calibration_priority(prediction)
        choice = Choice("review", gate.why_not, calibrating, recorded, calibration=True)
    elif gate.threshold is None:
        choice = Choice("review", gate.why_not, priority, recorded)
    elif confidence >= gate.threshold:
        reason = f"confidence {confidence:.3f} at or above {gate.threshold:.3f}{gate.detail}"
        choice = accepted_choice(prediction, reason, priority, recorded, gate.spot_check_rate)
    else:
        reason = (
            f"confidence {confidence:.3f} between {policy.escalation_floor:.3f} "
            f"and {gate.threshold:.3f}"
        )
        choice = Choice("review", reason, priority, recorded)
    return routed(prediction, policy, choice, now=now, predicted_label=label, confidence=confidence)
