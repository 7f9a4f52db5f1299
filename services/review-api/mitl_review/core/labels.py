"""The label event a completed task publishes. Its id is derived from the task, so however often
a completion is re-published (outbox replay, resubmission) downstream sees one label."""

from __future__ import annotations

from datetime import datetime

from mitl_contracts.events import LABEL_SET_SEPARATOR, Label

from mitl_review.core.auth import User
from mitl_review.core.submission import Complete
from mitl_review.core.task import Task


def label_event_id(task_id: str) -> str:
    return f"label-{task_id}"


def label_event(
    task: Task,
    decision: Complete,
    user: User,
    time_spent_ms: int | None,
    now: datetime,
    guideline_version: int | None = None,
) -> Label:
    return Label(
        event_id=label_event_id(task.task_id),
        dataset=task.dataset,
        item_id=task.item_id,
        batch_id=task.batch_id,
        occurred_at=now,
        label=decision.label,
        source=decision.source,
        action=decision.label_action,
        annotator=user.id,
        role=user.role,
        suggested_label=task.suggested_label,
        suggestion_shown=not task.hide_suggestion,
        time_spent_ms=time_spent_ms,
        model_version=task.model_version,
        policy_version=task.policy_version,
        review_event_id=task.review_event_id,
        guideline_version=guideline_version,
        labels=label_set(decision.label) if task.multilabel else None,
        suggested_labels=label_set(task.suggested_label) if task.multilabel else None,
        spans=list(decision.spans) if decision.spans is not None else None,
        suggested_spans=list(task.suggested_spans) if task.span_task else None,
    )


def label_set(key: str) -> list[str]:
    """The labels a multi-label key names (label_set_key), sorted."""
    return sorted(part for part in key.split(LABEL_SET_SEPARATOR) if part)
