"""Submitting a decision on a task: the core decides on the task as read, and one guarded
statement records it (with the label event in the outbox) only if the task is still as read;
then the relay is woken to publish the label. A gold task's answer is recorded and scored
(see annotators) but publishes nothing: it is a check, not a label."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
from mitl_contracts.api import SubmitAction, SubmitResult

from mitl_review.core import submission as rules
from mitl_review.core.auth import User
from mitl_review.core.errors import Conflict, NotFound
from mitl_review.core.labels import label_event
from mitl_review.core.leases import NO_OFFSET, LeaseClock
from mitl_review.core.task import Task
from mitl_review.metrics import SUBMISSIONS
from mitl_review.outbox import OutboxRelay
from mitl_review.store import tasks

# A task changes under a submission only when something else happens to it at that very
# moment; each retry re-reads it and usually ends in a clear answer (done, conflict).
MAX_ATTEMPTS = 5


def result_of(task: Task, action: SubmitAction) -> SubmitResult:
    """The result of `action` on `task` as the task stands once the action took effect."""
    if action == "escalate":
        return SubmitResult(task_id=task.task_id, status="escalated", action=action)
    if action == "skip":
        return SubmitResult(task_id=task.task_id, status="skipped", action=action)
    done = task.completion
    assert done is not None  # confirm and correct are replayed only on a completed task
    return SubmitResult(
        task_id=task.task_id,
        status="done",
        action=action,
        label=done.label,
        label_event_id=done.label_event_id,
        guideline_version=done.guideline_version,
    )


async def apply(
    conn: asyncpg.Connection,
    task: Task,
    user: User,
    body: rules.Submission,
    decision: rules.Outcome,
    now: datetime,
    offset: timedelta = NO_OFFSET,
    guideline_version: int | None = None,
) -> SubmitResult | None:
    """Write `decision` (a label made under `guideline_version`); None if the task changed
    since it was read."""
    match decision:
        case rules.Complete():
            event = None
            if task.kind == "review":
                event = label_event(
                    task, decision, user, body.time_spent_ms, now, guideline_version
                )
            written = await tasks.complete(
                conn,
                task,
                user,
                body.action,
                decision.label,
                event,
                body.time_spent_ms,
                now,
                offset,
                guideline_version,
                decision.spans,
            )
            if not written:
                return None
            return SubmitResult(
                task_id=task.task_id,
                status="done",
                action=body.action,
                label=decision.label,
                label_event_id=event.event_id if event else None,
                guideline_version=guideline_version,
            )
        case rules.Escalate():
            # An expert has nothing to add to a gold item: escalating one closes it.
            to_queue = "expert" if task.kind == "review" else task.queue
            if not await tasks.escalate(conn, task, user.id, decision.comment, to_queue, offset):
                return None
        case rules.Skip():
            if not await tasks.skip(conn, task, user.id, offset):
                return None
    return result_of(task, body.action)


async def submit(
    pool: asyncpg.Pool,
    relay: OutboxRelay,
    user: User,
    task_id: str,
    body: rules.Submission,
    clock: LeaseClock | None = None,
) -> SubmitResult:
    """Leases are judged by `clock` (the database's clock unless a test moved it)."""
    offset = clock.offset if clock else NO_OFFSET
    async with pool.acquire() as conn:
        for _ in range(MAX_ATTEMPTS):
            read = await tasks.read(conn, task_id, offset)
            if read is None:
                raise NotFound(f"no task {task_id!r}")
            task, now, guideline_version = read
            decision = rules.decide(task, user, body, now)
            result = await apply(conn, task, user, body, decision, now, offset, guideline_version)
            if result is not None:
                break
        else:
            raise Conflict(f"task {task_id} kept changing while your submission was saved; retry")
    if not isinstance(decision, rules.Replay):
        SUBMISSIONS.labels(body.action, user.role).inc()
    # Also after a replay: a label whose first publication was interrupted goes out now.
    relay.wake()
    return result
