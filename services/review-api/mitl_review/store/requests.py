"""Review requests in Postgres: every request event is recorded once, and creates a task or
updates the open task of its item. Callers own the transaction."""

from __future__ import annotations

from typing import Literal

import asyncpg

from mitl_review.core.task import Task
from mitl_review.store.rows import (
    INSERT_COLUMNS,
    INSERT_PLACEHOLDERS,
    spans_json,
    task_from_row,
    task_values,
)

Outcome = Literal["created", "updated", "stale"]


async def lock_item_and_check_seen(
    conn: asyncpg.Connection, event_id: str, dataset: str, item_id: str, queue: str
) -> bool:
    """Serialize requests for one item and queue until the transaction ends (two replicas
    during a rebalance must not both create its task), and say whether `event_id` was
    already handled."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('mitl-review-item'), hashtext($1))",
        f"{dataset}/{queue}/{item_id}",
    )
    seen = await conn.fetchval("SELECT 1 FROM review.requests WHERE event_id = $1", event_id)
    return seen is not None


async def open_tasks(
    conn: asyncpg.Connection, dataset: str, item_id: str, queue: str
) -> list[Task]:
    """The open review tasks asked for `item_id` in `queue` (its requested queue: an escalated
    task still answers the annotator request), locked for update: one, or the copies of an
    overlap item still open, first copy first; none if the item has no open task."""
    rows = await conn.fetch(
        """
        SELECT * FROM review.tasks
        WHERE dataset = $1 AND item_id = $2 AND requested_queue = $3
          AND status = 'open' AND kind = 'review'
        ORDER BY requested_at, overlap_copy, task_id
        FOR UPDATE
        """,
        dataset,
        item_id,
        queue,
    )
    return [task_from_row(row) for row in rows]


async def insert(conn: asyncpg.Connection, task: Task) -> None:
    await conn.execute(
        f"INSERT INTO review.tasks ({INSERT_COLUMNS}) VALUES ({INSERT_PLACEHOLDERS})",
        *task_values(task),
    )


# What a newer request changes in a task (see core.updates.refreshed): these columns, each
# from the task's field of the same name.
UPDATED_COLUMNS = (
    "review_event_id",
    "decision_event_id",
    "batch_id",
    "priority",
    "reason",
    "labels",
    "probabilities",
    "suggested_label",
    "confidence",
    "hide_suggestion",
    "model_version",
    "policy_version",
    "last_requested_at",
    "revision",
    "suggested_spans",
    "spans_complete",
)
UPDATE = "UPDATE review.tasks SET {} WHERE task_id = $1".format(
    ", ".join(
        f"{column} = ${n}" + ("::jsonb" if column == "suggested_spans" else "")
        for n, column in enumerate(UPDATED_COLUMNS, start=2)
    )
)


def column_value(task: Task, column: str) -> object:
    if column == "suggested_spans":
        return spans_json(task.suggested_spans) if task.span_task else None
    value = getattr(task, column)
    return list(value) if isinstance(value, tuple) else value  # labels, probabilities: arrays


async def update(conn: asyncpg.Connection, task: Task) -> None:
    """Write what a newer request changed (see core.updates.refreshed)."""
    await conn.execute(
        UPDATE, task.task_id, *(column_value(task, column) for column in UPDATED_COLUMNS)
    )


async def record(conn: asyncpg.Connection, event_id: str, task_id: str, outcome: Outcome) -> None:
    await conn.execute(
        "INSERT INTO review.requests (event_id, task_id, outcome) VALUES ($1, $2, $3)",
        event_id,
        task_id,
        outcome,
    )
