"""From a `review.tasks` row to the core's Task."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from mitl_contracts.events import ItemContent
from mitl_contracts.spans import Span
from pydantic import TypeAdapter

from mitl_review.core.task import Completion, Task

SPAN_LIST = TypeAdapter(list[Span])

# Task fields read as they are stored, each from the column of its name.
PLAIN_TASK_FIELDS = (
    "task_id",
    "review_event_id",
    "dataset",
    "item_id",
    "batch_id",
    "decision_event_id",
    "requested_queue",
    "queue",
    "priority",
    "reason",
    "suggested_label",
    "confidence",
    "hide_suggestion",
    "model_version",
    "policy_version",
    "requested_at",
    "status",
    "lease_holder",
    "lease_expires_at",
    "escalated_by",
    "escalation_comment",
    "kind",
    "gold_id",
    "assignee",
    "revision",
    "last_requested_at",
    "overlap_group",
    "overlap_copy",
    "multilabel",
    "span_task",
    "spans_complete",
    "allow_overlap",
)


def task_from_row(row: asyncpg.Record) -> Task:
    completion = None
    if row["status"] == "done":
        completion = Completion(
            user=row["completed_by"],
            role=row["completed_role"],
            action=row["submitted_action"],
            label=row["label"],
            label_event_id=row["label_event_id"],
            completed_at=row["completed_at"],
            guideline_version=row["guideline_version"],
            spans=None if row["spans"] is None else spans_from_json(row["spans"]),
        )
    return Task(
        **{name: row[name] for name in PLAIN_TASK_FIELDS},
        content=ItemContent.model_validate_json(row["content"]),
        labels=tuple(row["labels"]),
        probabilities=tuple(row["probabilities"]),
        skipped_by=tuple(row["skipped_by"]),
        suggested_spans=(
            () if row["suggested_spans"] is None else spans_from_json(row["suggested_spans"])
        ),
        completion=completion,
    )


# Columns written when a task is created, in this order (see `task_values`).
INSERT_COLUMNS = """
    task_id, review_event_id, dataset, item_id, batch_id, decision_event_id,
    requested_queue, queue, priority, reason, content, labels, probabilities,
    suggested_label, confidence, hide_suggestion, model_version, policy_version,
    requested_at, last_requested_at, kind, gold_id, assignee, overlap_group, overlap_copy,
    multilabel, span_task, suggested_spans, spans_complete, allow_overlap
"""
INSERT_PLACEHOLDERS = (
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15, $16, $17, $18, "
    "$19, $20, $21, $22, $23, $24, $25, $26, $27, $28::jsonb, $29, $30"
)


def task_values(task: Task) -> tuple[object, ...]:
    return (
        task.task_id,
        task.review_event_id,
        task.dataset,
        task.item_id,
        task.batch_id,
        task.decision_event_id,
        task.requested_queue,
        task.queue,
        task.priority,
        task.reason,
        task.content.model_dump_json(),
        list(task.labels),
        list(task.probabilities),
        task.suggested_label,
        task.confidence,
        task.hide_suggestion,
        task.model_version,
        task.policy_version,
        task.requested_at,
        task.last_requested_at or task.requested_at,
        task.kind,
        task.gold_id,
        task.assignee,
        task.overlap_group,
        task.overlap_copy,
        task.multilabel,
        task.span_task,
        spans_json(task.suggested_spans) if task.span_task else None,
        task.spans_complete,
        task.allow_overlap,
    )


def spans_json(spans: Sequence[Span]) -> str:
    """Spans as a jsonb value: a list of {start, end, label[, confidence]}."""
    return SPAN_LIST.dump_json(list(spans), exclude_none=True).decode()


def spans_from_json(value: str) -> tuple[Span, ...]:
    return tuple(SPAN_LIST.validate_json(value))
