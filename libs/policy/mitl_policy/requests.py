"""Events the router publishes about a prediction: review requests (for a routed prediction,
and for an item whose annotators disagree, always to the expert queue) and the label of an
auto-accepted one."""

from __future__ import annotations

import hashlib
from typing import Any

from mitl_contracts.events import Decision, Label, Prediction, ReviewRequested
from mitl_contracts.spans import Span, least_confidence, spans_key

# Disagreements are settled before new work: the label in the audit log is in doubt.
DISAGREEMENT_PRIORITY = 2.0


def item_of(prediction: Prediction) -> dict[str, Any]:
    """The item a prediction is about, as every event that follows from it names it."""
    return {
        "dataset": prediction.dataset,
        "item_id": prediction.item_id,
        "batch_id": prediction.batch_id,
    }


def accepted_label(
    prediction: Prediction, decision: Decision, label: str, **labels: list[str] | list[Span]
) -> Label:
    """The label an accepted `decision` publishes: the model's (the client's, for a client's
    prediction), suggested and given at once; `labels` holds a multi-label set or a span
    set (`spans`, `suggested_spans`)."""
    return Label(
        **item_of(prediction),
        event_id=f"label-auto-{prediction.event_id}",
        label=label,
        source="model" if prediction.source == "platform" else "client",
        action="auto_accept",
        occurred_at=decision.occurred_at,
        suggested_label=label,
        model_version=decision.model_version,
        policy_version=decision.policy_version,
        **labels,
    )


def _reviewed(prediction: Prediction) -> dict[str, Any]:
    """What a review request carries of the prediction it asks about: the item, its content
    and the model's output (the suggestion, shown unless the task is blind)."""
    label, confidence = prediction.top
    shown = item_of(prediction) | {
        "content": prediction.content,
        "suggested_label": label,
        "confidence": confidence,
        "labels": prediction.labels,
        "probabilities": prediction.probabilities,
        "model_version": prediction.model_version,
    }
    if prediction.spans is not None:
        # A span item's suggestion is its span set, its confidence the least certain part's.
        shown |= {
            "suggested_label": spans_key(prediction.spans),
            "confidence": least_confidence(prediction.spans, prediction.spans_complete),
            "suggested_spans": prediction.spans,
            "spans_complete": prediction.spans_complete,
        }
    return shown


def review_request(prediction: Prediction, decision: Decision, *, blind: bool) -> ReviewRequested:
    return ReviewRequested(
        **_reviewed(prediction),
        event_id=f"review-{prediction.event_id}",
        occurred_at=decision.occurred_at,
        decision_event_id=decision.event_id,
        queue="expert" if decision.route == "escalate" else "annotator",
        # A spot check's decision carries its place ahead of the queue (core.accepted_choice).
        priority=decision.priority,
        reason="spot check of an auto-accepted label" if decision.spot_check else decision.reason,
        hide_suggestion=blind,
        policy_version=decision.policy_version,
    )


def disagreement_event_id(dataset: str, item_id: str) -> str:
    digest = hashlib.sha256(f"{dataset}\x00{item_id}".encode()).hexdigest()[:32]
    return f"review-disagreement-{digest}"


def disagreement_request(
    prediction: Prediction, decision_event_id: str, policy_version: str, labels: list[str]
) -> ReviewRequested:
    """Send the item to an expert because annotators gave it `labels` (at least two differ).
    One request per item, whatever the number of labels: the id is derived from the item."""
    return ReviewRequested(
        **_reviewed(prediction),
        event_id=disagreement_event_id(prediction.dataset, prediction.item_id),
        decision_event_id=decision_event_id,
        queue="expert",
        priority=DISAGREEMENT_PRIORITY,
        reason=f"annotators disagree: {', '.join(sorted(set(labels)))}",
        hide_suggestion=True,
        policy_version=policy_version,
    )
