"""Submitting a decision on a task: the core decides on the task as read, and one guarded
statement records it (with the label event in the outbox) only if the task is still as read;
then the relay is woken to publish the label. A gold task's answer is recorded and scored
(see annotators) but publishes nothing: it is a check, not a label.

A task this process handed out in a claim is decided on as remembered (claimed_tasks) and
written in one round trip; if that copy no longer holds, the submission reads the task as
above."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
from mitl_contracts.api import SubmitAction, SubmitResult
from mitl_runtime.status_error import StatusError

from mitl_review import metrics
from mitl_review.claimed_tasks import ClaimedTasks
from mitl_review.core import submission as rules
from mitl_review.core.auth import User
from mitl_review.core.errors import Conflict, NotFound
from mitl_review.core.labels import label_event
from mitl_review.core.leases import NO_OFFSET, LeaseClock
from mitl_review.core.task import Task
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
    guideline_current: bool = False,
) -> SubmitResult | None:
    """Write `decision` (a label made under `guideline_version`); None if the task changed
    since it was read (with `guideline_current`, also if `guideline_version` is no longer
    the dataset's latest)."""
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
                guideline_current,
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
    claimed: ClaimedTasks | None = None,
) -> SubmitResult:
    """Leases are judged by `clock` (the database's clock unless a test moved it); `claimed`:
    the tasks this process handed out (none: every submission reads its task)."""
    offset = clock.offset if clock else NO_OFFSET
    async with pool.acquire() as conn:
        decision, result = None, None
        remembered = claimed.take(task_id, user.id, offset) if claimed else None
        if remembered is not None:
            decision, result = await submit_remembered(conn, user, body, offset, *remembered)
        if result is None:
            decision, result = await submit_read(conn, user, task_id, body, offset, claimed)
    if not isinstance(decision, rules.Replay):
        metrics.submissions(body.action, user.role).inc()
    # Also after a replay: a label whose first publication was interrupted goes out now.
    relay.wake()
    return result


async def submit_read(
    conn: asyncpg.Connection,
    user: User,
    task_id: str,
    body: rules.Submission,
    offset: timedelta,
    claimed: ClaimedTasks | None,
) -> tuple[rules.Outcome, SubmitResult]:
    """The ordinary way: read the task, decide, write if it is still as read; again if not."""
    for _ in range(MAX_ATTEMPTS):
        read = await tasks.read(conn, task_id, offset)
        if read is None:
            raise NotFound(f"no task {task_id!r}")
        task, now, guideline_version = read
        if claimed is not None:
            claimed.observe(task.dataset, now, guideline_version, offset)
        decision = rules.decide(task, user, body, now)
        result = await apply(conn, task, user, body, decision, now, offset, guideline_version)
        if result is not None:
            return decision, result
    raise Conflict(f"task {task_id} kept changing while your submission was saved; retry")


async def submit_remembered(
    conn: asyncpg.Connection,
    user: User,
    body: rules.Submission,
    offset: timedelta,
    task: Task,
    now: datetime,
    guideline_version: int | None,
) -> tuple[rules.Outcome | None, SubmitResult | None]:
    """A completion decided on the remembered `task` and written if the task and the
    guideline version are still as remembered; (None, None) for anything else, which the
    ordinary way (read, decide, write) then answers."""
    try:
        decision = rules.decide(task, user, body, now)
    except StatusError:  # answered by the ordinary way, on the task as it stands
        return None, None
    if not isinstance(decision, rules.Complete):
        return None, None
    result = await apply(
        conn, task, user, body, decision, now, offset, guideline_version, guideline_current=True
    )
    return (decision, result) if result is not None else (None, None)
