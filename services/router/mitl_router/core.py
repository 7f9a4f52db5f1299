"""The routing decision: pure, synchronous, deterministic for a given prediction and policy.

Rules, first match wins:
1. metadata matches a regulated value          -> escalate to an expert
2. outlier score above the policy's threshold  -> escalate
3. confidence below the escalation floor       -> escalate
4. confidence at or above the accept threshold -> accept as a pseudo-label
   (and, for a deterministic random share, also send to a blind spot-check review)
5. otherwise                                   -> review by an annotator, priority = uncertainty
A drift alert open for the dataset tightens the policy (see `effective_policy`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from mitl_contracts.datasets import Policy
from mitl_contracts.events import Decision, Label, Prediction, ReviewRequested, Route

from mitl_router.uncertainty import uncertainty


@dataclass(frozen=True)
class Routed:
    decision: Decision
    review: ReviewRequested | None = None
    label: Label | None = None


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


def escalation_reason(prediction: Prediction, policy: Policy) -> str | None:
    metadata = prediction.content.metadata
    for key, values in policy.escalate_metadata.items():
        if metadata.get(key) in values:
            return f"metadata {key}={metadata[key]} requires an expert"
    if policy.outlier_threshold is not None and prediction.outlier_score > policy.outlier_threshold:
        return (
            f"outlier score {prediction.outlier_score:.2f} above {policy.outlier_threshold:.2f}"
        )
    _, confidence = prediction.top
    if confidence < policy.escalation_floor:
        return f"confidence {confidence:.3f} below escalation floor {policy.escalation_floor:.3f}"
    return None


def route(
    prediction: Prediction, policy: Policy, *, now: datetime, drift_active: bool = False
) -> Routed:
    """Route one prediction; `now` stamps the events (time is an input, so this stays pure)."""
    policy = effective_policy(policy, drift_active)
    label, confidence = prediction.top
    priority = uncertainty(prediction.probabilities, policy.uncertainty)
    escalation = escalation_reason(prediction, policy)
    spot_check = False
    verdict: Route
    if escalation is not None:
        verdict, reason = "escalate", escalation
    elif confidence >= policy.accept_threshold:
        verdict = "accept"
        reason = f"confidence {confidence:.3f} at or above {policy.accept_threshold:.3f}"
        spot_check = unit_draw("spot", prediction.dataset, prediction.item_id) < policy.spot_check_rate
    else:
        verdict = "review"
        reason = (
            f"confidence {confidence:.3f} between {policy.escalation_floor:.3f} "
            f"and {policy.accept_threshold:.3f}"
        )
    decision = Decision(
        event_id=f"decision-{prediction.event_id}",
        dataset=prediction.dataset,
        item_id=prediction.item_id,
        batch_id=prediction.batch_id,
        occurred_at=now,
        prediction_event_id=prediction.event_id,
        route=verdict,
        reason=reason,
        predicted_label=label,
        confidence=confidence,
        priority=priority,
        spot_check=spot_check,
        model_version=prediction.model_version,
        policy_version=policy.version,
        thresholds={
            "accept_threshold": policy.accept_threshold,
            "escalation_floor": policy.escalation_floor,
            "spot_check_rate": policy.spot_check_rate,
        },
    )
    review = None
    if verdict != "accept" or spot_check:
        review = review_request(prediction, decision, spot_check)
    auto_label = None
    if verdict == "accept":
        auto_label = Label(
            event_id=f"label-auto-{prediction.event_id}",
            dataset=prediction.dataset,
            item_id=prediction.item_id,
            batch_id=prediction.batch_id,
            label=label,
            source="model" if prediction.source == "platform" else "client",
            action="auto_accept",
            occurred_at=now,
            suggested_label=label,
            model_version=prediction.model_version,
            policy_version=policy.version,
        )
    return Routed(decision, review, auto_label)


def review_request(prediction: Prediction, decision: Decision, spot_check: bool) -> ReviewRequested:
    label, confidence = prediction.top
    return ReviewRequested(
        event_id=f"review-{prediction.event_id}",
        dataset=prediction.dataset,
        item_id=prediction.item_id,
        batch_id=prediction.batch_id,
        occurred_at=decision.occurred_at,
        decision_event_id=decision.event_id,
        queue="expert" if decision.route == "escalate" else "annotator",
        # Spot checks measure precision, not learning value: a fixed middling priority keeps
        # them flowing without starving the most informative items.
        priority=0.5 if spot_check else decision.priority,
        reason="spot check of an auto-accepted label" if spot_check else decision.reason,
        content=prediction.content,
        suggested_label=label,
        confidence=confidence,
        labels=prediction.labels,
        probabilities=prediction.probabilities,
        hide_suggestion=spot_check,
        model_version=prediction.model_version,
        policy_version=decision.policy_version,
    )
