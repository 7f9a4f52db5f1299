"""Builders of review-core values for unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mitl_contracts.datasets import Catalog
from mitl_contracts.events import ItemContent, ReviewRequested
from mitl_review.core.task import Task

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LABELS = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")
CATALOG = Catalog.model_validate({"datasets": {"trec6": {"labels": list(LABELS)}}})


def make_task(**overrides: Any) -> Task:
    fields: dict[str, Any] = {
        "task_id": "t1",
        "review_event_id": "rr-1",
        "dataset": "trec6",
        "item_id": "item-1",
        "batch_id": "b1",
        "decision_event_id": "d-1",
        "requested_queue": "annotator",
        "queue": "annotator",
        "priority": 0.5,
        "reason": "low confidence",
        "content": ItemContent(text="Who wrote Hamlet ?"),
        "labels": LABELS,
        "probabilities": (0.05, 0.05, 0.1, 0.6, 0.1, 0.1),
        "suggested_label": "HUM",
        "confidence": 0.6,
        "hide_suggestion": False,
        "model_version": "m-1",
        "policy_version": "p-1",
        "requested_at": NOW - timedelta(minutes=5),
    }
    return Task(**(fields | overrides))


def leased_to(user: str, *, seconds_left: float = 60, **overrides: Any) -> Task:
    return make_task(
        lease_holder=user, lease_expires_at=NOW + timedelta(seconds=seconds_left), **overrides
    )


def review_requested(**overrides: Any) -> ReviewRequested:
    fields: dict[str, Any] = {
        "event_id": "rr-1",
        "dataset": "trec6",
        "item_id": "item-1",
        "batch_id": "b1",
        "decision_event_id": "d-1",
        "queue": "annotator",
        "priority": 0.7,
        "reason": "entropy above threshold",
        "content": {"text": "Who wrote Hamlet ?", "metadata": {"source": "quiz"}},
        "suggested_label": "HUM",
        "confidence": 0.6,
        "labels": list(LABELS),
        "probabilities": [0.05, 0.05, 0.1, 0.6, 0.1, 0.1],
        "model_version": "m-1",
        "policy_version": "p-1",
    }
    return ReviewRequested.model_validate(fields | overrides)
