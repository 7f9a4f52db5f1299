"""Tasks in Postgres: creation (idempotent by event id), claims under `FOR UPDATE SKIP LOCKED`,
and the three ways a submission changes a task. Callers own the transactions."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from mitl_contracts.events import ItemContent

from mitl_review.core.auth import User
from mitl_review.core.task import Completion, Task

# Highest priority first, then oldest; the task id only makes the order total.
CLAIM_ORDER = "priority DESC, requested_at, task_id"


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
        )
    return Task(
        task_id=row["task_id"],
        review_event_id=row["review_event_id"],
        dataset=row["dataset"],
        item_id=row["item_id"],
        batch_id=row["batch_id"],
        decision_event_id=row["decision_event_id"],
        requested_queue=row["requested_queue"],
        queue=row["queue"],
        priority=row["priority"],
        reason=row["reason"],
        content=ItemContent.model_validate_json(row["content"]),
        labels=tuple(row["labels"]),
        probabilities=tuple(row["probabilities"]),
        suggested_label=row["suggested_label"],
        confidence=row["confidence"],
        hide_suggestion=row["hide_suggestion"],
        model_version=row["model_version"],
        policy_version=row["policy_version"],
        requested_at=row["requested_at"],
        status=row["status"],
        lease_holder=row["lease_holder"],
        lease_expires_at=row["lease_expires_at"],
        skipped_by=tuple(row["skipped_by"]),
        escalated_by=row["escalated_by"],
        escalation_comment=row["escalation_comment"],
        completion=completion,
    )


async def insert(conn: asyncpg.Connection, task: Task) -> bool:
    """Create `task` unless its event already made one; True if it is new."""
    created = await conn.fetchval(
        """
        INSERT INTO review.tasks (
            task_id, review_event_id, dataset, item_id, batch_id, decision_event_id,
            requested_queue, queue, priority, reason, content, labels, probabilities,
            suggested_label, confidence, hide_suggestion, model_version, policy_version,
            requested_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10::jsonb, $11, $12, $13, $14, $15,
                $16, $17, $18)
        ON CONFLICT DO NOTHING
        RETURNING task_id
        """,
        task.task_id,
        task.review_event_id,
        task.dataset,
        task.item_id,
        task.batch_id,
        task.decision_event_id,
        task.requested_queue,
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
    )
    return created is not None


async def held_lease(conn: asyncpg.Connection, user: str, dataset: str, queue: str) -> Task | None:
    """The open task in this queue on which `user` holds a live lease, if any."""
    row = await conn.fetchrow(
        f"""
        SELECT * FROM review.tasks
        WHERE dataset = $1 AND queue = $2 AND status = 'open'
          AND lease_holder = $3 AND lease_expires_at > now()
        ORDER BY {CLAIM_ORDER} LIMIT 1
        """,
        dataset,
        queue,
        user,
    )
    return task_from_row(row) if row else None


async def lease_next(
    conn: asyncpg.Connection, user: str, dataset: str, queue: str, lease_seconds: float
) -> tuple[Task, str | None] | None:
    """Lease the first claimable task of the queue to `user`: open, without a live lease, not
    skipped by `user`. Rows another transaction is claiming are skipped, not waited for, so two
    claimers never get the same task. Returns the task and the holder of the lapsed lease it
    replaced, if any."""
    row = await conn.fetchrow(
        f"""
        WITH next AS (
            SELECT task_id, lease_holder AS previous_holder FROM review.tasks
            WHERE dataset = $1 AND queue = $2 AND status = 'open'
              AND (lease_expires_at IS NULL OR lease_expires_at <= now())
              AND NOT ($3 = ANY(skipped_by))
            ORDER BY {CLAIM_ORDER}
            LIMIT 1
            FOR UPDATE SKIP LOCKED
        )
        UPDATE review.tasks AS t
        SET lease_holder = $3, lease_expires_at = now() + make_interval(secs => $4)
        FROM next WHERE t.task_id = next.task_id
        RETURNING t.*, next.previous_holder
        """,
        dataset,
        queue,
        user,
        float(lease_seconds),
    )
    return (task_from_row(row), row["previous_holder"]) if row else None


async def lock(conn: asyncpg.Connection, task_id: str) -> tuple[Task, datetime] | None:
    """Load `task_id` locked for update, with the database's clock (one clock for every replica)."""
    row = await conn.fetchrow(
        "SELECT *, now() AS db_now FROM review.tasks WHERE task_id = $1 FOR UPDATE", task_id
    )
    return (task_from_row(row), row["db_now"]) if row else None


async def complete(
    conn: asyncpg.Connection,
    task_id: str,
    user: User,
    action: str,
    label: str,
    label_event_id: str,
    time_spent_ms: int | None,
) -> None:
    await conn.execute(
        """
        UPDATE review.tasks SET status = 'done', lease_holder = NULL, lease_expires_at = NULL,
            completed_by = $2, completed_role = $3, submitted_action = $4, label = $5,
            label_event_id = $6, time_spent_ms = $7, completed_at = now()
        WHERE task_id = $1
        """,
        task_id,
        user.name,
        user.role,
        action,
        label,
        label_event_id,
        time_spent_ms,
    )


async def escalate(conn: asyncpg.Connection, task_id: str, user: str, comment: str | None) -> None:
    await conn.execute(
        """
        UPDATE review.tasks SET queue = 'expert', lease_holder = NULL, lease_expires_at = NULL,
            escalated_by = $2, escalation_comment = $3, escalated_at = now()
        WHERE task_id = $1
        """,
        task_id,
        user,
        comment,
    )


async def skip(conn: asyncpg.Connection, task_id: str, user: str) -> None:
    await conn.execute(
        """
        UPDATE review.tasks SET lease_holder = NULL, lease_expires_at = NULL,
            skipped_by = array_append(skipped_by, $2)
        WHERE task_id = $1
        """,
        task_id,
        user,
    )
