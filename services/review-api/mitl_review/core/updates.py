"""A newer request for an item that already has an open task updates that task.

When a new champion re-scores an item that is still waiting for a person (or being looked at),
the router asks again for the same item and queue. One item must not become two tasks, so the
open task takes the new request's model output and priority. The task keeps its id, its place
in time (`requested_at`), its lease and its history; `revision` goes up so a person who saw
the older suggestion is told before their answer is attributed to the newer one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from mitl_review.core.task import Task


def latest_request_time(task: Task) -> datetime:
    return task.last_requested_at or task.requested_at


def refreshed(current: Task, incoming: Task) -> Task | None:
    """`current` as the newer request `incoming` (same dataset, item and requested queue) asks
    for it, or None if `incoming` is older than what `current` already reflects: a request
    delivered late must not undo a newer one."""
    if incoming.requested_at < latest_request_time(current):
        return None
    return replace(
        current,
        review_event_id=incoming.review_event_id,
        decision_event_id=incoming.decision_event_id,
        batch_id=incoming.batch_id,
        priority=incoming.priority,
        reason=incoming.reason,
        labels=incoming.labels,
        probabilities=incoming.probabilities,
        suggested_label=incoming.suggested_label,
        confidence=incoming.confidence,
        suggested_spans=incoming.suggested_spans,
        spans_complete=incoming.spans_complete,
        # The latest request says whether the item is a blind spot check; a person who already
        # saw a suggestion is stopped by the revision check.
        hide_suggestion=incoming.hide_suggestion,
        model_version=incoming.model_version,
        policy_version=incoming.policy_version,
        last_requested_at=incoming.requested_at,
        revision=current.revision + 1,
    )
