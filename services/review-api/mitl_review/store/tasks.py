"""Tasks in Postgres: claims (one database function, `FOR UPDATE SKIP LOCKED` inside), and the
ways a submission changes a task (creation and updates from requests are in `requests`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

import asyncpg
from mitl_contracts import topics
from mitl_contracts.events import Event
from mitl_contracts.spans import Span
from mitl_runtime import outbox

from mitl_review.core.auth import User
from mitl_review.core.leases import NO_OFFSET
from mitl_review.core.task import Task
from mitl_review.store.rows import spans_json, task_from_row

Outcome = Literal["resumed", "leased", "gold"]
# What a claim got: how, the task, and who held the lapsed lease it replaced (if any).
Claimed = tuple[Outcome, Task, str | None]
# `(task).*` spreads the task into plain columns: a composite value in a result costs asyncpg a
# slow type introspection on every new connection, felt by the first claims after a start.
# `offset` moves the database's clock for leases (core.leases.LeaseClock); zero in service.
CLAIM_NEXT = """
SELECT outcome, previous_holder, (task).* FROM review.claim_next($1, $2, $3, $4, $5, $6)
"""


async def claim_next(
    conn: asyncpg.Connection,
    user: str,
    dataset: str,
    queue: str,
    lease_seconds: float,
    offset: timedelta = NO_OFFSET,
) -> Claimed | None:
    """`review.claim_next` (migrations/005): the caller's live lease in the queue, or the next
    review task leased to them, or None when there is nothing for them."""
    row = await conn.fetchrow(CLAIM_NEXT, user, dataset, queue, float(lease_seconds), False, offset)
    if row is None:
        return None
    return row["outcome"], task_from_row(row), row["previous_holder"]


async def held_or_room_for_gold(
    conn: asyncpg.Connection, user: str, dataset: str, queue: str, offset: timedelta = NO_OFFSET
) -> Claimed | bool:
    """Under the claim lock (kept by the caller's transaction): the caller's live lease in the
    queue if any; else whether the queue has review work they could lease, which is when a
    gold task may be served."""
    row = await conn.fetchrow(CLAIM_NEXT, user, dataset, queue, 0.0, True, offset)
    if row is None:
        return False
    if row["outcome"] == "gold":
        return True
    return row["outcome"], task_from_row(row), row["previous_holder"]


async def read(
    conn: asyncpg.Connection, task_id: str, offset: timedelta = NO_OFFSET
) -> tuple[Task, datetime, int | None] | None:
    """Load `task_id` with the database's clock (one clock for every replica; moved by
    `offset`) and its dataset's latest guideline version (None without guidelines), in one
    round trip. Not locked: every write below re-checks, in its own statement, that the task
    is as it was read."""
    row = await conn.fetchrow(
        """
        SELECT t.*, now() + $2::interval AS db_now,
            (SELECT max(g.version) FROM review.guidelines AS g WHERE g.dataset = t.dataset)
                AS current_guideline_version
        FROM review.tasks AS t WHERE t.task_id = $1
        """,
        task_id,
        offset,
    )
    if row is None:
        return None
    return task_from_row(row), row["db_now"], row["current_guideline_version"]


# A submission writes only if the task is still what its decision was made on: open, under
# the submitter's live lease, same revision and queue. Anything else changed it meanwhile
# (the lease lapsed, a newer request updated it, a concurrent submission settled it), and
# the caller reads it again and decides again. Each write is one atomic statement. $5 is the
# lease clock's offset (core.leases.LeaseClock).
GUARD = """task_id = $1 AND status = 'open' AND lease_holder = $2
    AND lease_expires_at > now() + $5::interval AND revision = $3 AND queue = $4"""


# Closing a task, and for a review task putting its label event in the outbox, in one
# statement; {guard} is GUARD, or GUARD and the guideline condition.
COMPLETE_TEMPLATE = """
WITH done AS (
    UPDATE review.tasks SET status = 'done', lease_holder = NULL, lease_expires_at = NULL,
        completed_by = $2, completed_role = $6, submitted_action = $7, label = $8,
        label_event_id = $9, time_spent_ms = $10, completed_at = $11,
        guideline_version = $15, spans = $16::jsonb
    WHERE {guard}
    RETURNING task_id
), published AS (
    INSERT INTO review.outbox (event_id, topic, key, payload)
    SELECT $9, $12, $14, $13::text::json FROM done WHERE $13::text IS NOT NULL
    ON CONFLICT (event_id) DO NOTHING
)
SELECT count(*) FROM done
"""
COMPLETE = COMPLETE_TEMPLATE.format(guard=GUARD)
COMPLETE_IF_GUIDELINE_CURRENT = COMPLETE_TEMPLATE.format(
    guard=GUARD
    + """
    AND $15::int IS NOT DISTINCT FROM (
        SELECT max(g.version) FROM review.guidelines AS g WHERE g.dataset = tasks.dataset)"""
)


def guard_values(task: Task, user: str, offset: timedelta) -> tuple[object, ...]:
    return task.task_id, user, task.revision, task.queue, offset


async def complete(
    conn: asyncpg.Connection,
    task: Task,
    user: User,
    action: str,
    label: str,
    event: Event | None,
    time_spent_ms: int | None,
    now: datetime,
    offset: timedelta = NO_OFFSET,
    guideline_version: int | None = None,
    spans: Sequence[Span] | None = None,
    guideline_current: bool = False,
) -> bool:
    """Close the task with `label` (made under `guideline_version`; a span task's `spans`,
    whose key `label` is) and, for a review task, put its label `event` in the outbox, in
    one statement; False if the guard failed and nothing was written. With
    `guideline_current`, the guard also requires `guideline_version` to be the dataset's
    latest (a decision made on a remembered task, see claimed_tasks)."""
    done = await conn.fetchval(
        COMPLETE_IF_GUIDELINE_CURRENT if guideline_current else COMPLETE,
        *guard_values(task, user.id, offset),
        user.role,
        action,
        label,
        event.event_id if event else None,
        time_spent_ms,
        now,
        topics.LABELS,
        event.model_dump_json() if event else None,
        outbox.key_of(event) if event else None,
        guideline_version,
        None if spans is None else spans_json(spans),
    )
    return bool(done)


async def escalate(
    conn: asyncpg.Connection,
    task: Task,
    user: str,
    comment: str | None,
    queue: str,
    offset: timedelta = NO_OFFSET,
) -> bool:
    """Hand the task over to `queue` ('expert' for a review task; a gold task stays where it
    was and is closed for its assignee: its answer is known, an expert has nothing to add)."""
    changed = await conn.fetchval(
        f"""
        UPDATE review.tasks SET queue = $7, lease_holder = NULL, lease_expires_at = NULL,
            escalated_by = $2, escalation_comment = $6, escalated_at = now()
        WHERE {GUARD}
        RETURNING task_id
        """,
        *guard_values(task, user, offset),
        comment,
        queue,
    )
    return changed is not None


async def skip(
    conn: asyncpg.Connection, task: Task, user: str, offset: timedelta = NO_OFFSET
) -> bool:
    changed = await conn.fetchval(
        f"""
        UPDATE review.tasks SET lease_holder = NULL, lease_expires_at = NULL,
            skipped_by = array_append(skipped_by, $2)
        WHERE {GUARD}
        RETURNING task_id
        """,
        *guard_values(task, user, offset),
    )
    return changed is not None
