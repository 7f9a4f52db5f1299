"""A newer request for an item with an open task updates that task."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mitl_review.core.intake import new_task
from mitl_review.core.task import Task
from mitl_review.core.updates import refreshed

from tests.unit.review.factories import CATALOG, NOW, leased_to, make_task, review_requested

AN_HOUR_AGO = NOW - timedelta(hours=1)


def rescored(**overrides: Any) -> Task:
    """The task a new champion's re-score of item-1 asks for: LOC instead of HUM."""
    fields: dict[str, Any] = {
        "event_id": "rr-2",
        "decision_event_id": "d-2",
        "occurred_at": NOW,
        "suggested_label": "LOC",
        "confidence": 0.7,
        "probabilities": [0.05, 0.05, 0.05, 0.1, 0.7, 0.05],
        "priority": 0.9,
        "reason": "margin below 0.2",
        "model_version": "m-2",
        "policy_version": "p-2",
    }
    return new_task(review_requested(**(fields | overrides)), CATALOG)


def test_a_newer_request_takes_over_the_model_output_and_keeps_the_task() -> None:
    current = leased_to("ann", requested_at=AN_HOUR_AGO, last_requested_at=AN_HOUR_AGO)
    update = refreshed(current, rescored())
    assert update is not None
    assert (update.task_id, update.requested_at) == (current.task_id, AN_HOUR_AGO)
    assert (update.lease_holder, update.lease_expires_at) == ("ann", current.lease_expires_at)
    assert (update.review_event_id, update.decision_event_id) == ("rr-2", "d-2")
    assert (update.suggested_label, update.confidence, update.priority) == ("LOC", 0.7, 0.9)
    assert update.probabilities == (0.05, 0.05, 0.05, 0.1, 0.7, 0.05)
    assert (update.model_version, update.policy_version) == ("m-2", "p-2")
    assert update.reason == "margin below 0.2" and update.content == current.content
    assert update.last_requested_at == NOW and update.revision == current.revision + 1


def test_an_older_request_arriving_late_changes_nothing() -> None:
    current = refreshed(make_task(requested_at=AN_HOUR_AGO), rescored())
    assert current is not None
    late = rescored(event_id="rr-0", occurred_at=NOW - timedelta(minutes=30), model_version="m-0")
    assert refreshed(current, late) is None
    # Without last_requested_at (a task from before updates existed) its first request counts.
    assert refreshed(make_task(requested_at=NOW + timedelta(seconds=1)), rescored()) is None


def test_the_latest_request_decides_whether_the_task_is_blind() -> None:
    shown = make_task(requested_at=AN_HOUR_AGO)
    blind = refreshed(shown, rescored(hide_suggestion=True))
    assert blind is not None and blind.hide_suggestion and blind.revision == 2
    later = rescored(event_id="rr-3", occurred_at=NOW + timedelta(seconds=1))
    again = refreshed(blind, later)
    assert again is not None and not again.hide_suggestion and again.revision == 3
