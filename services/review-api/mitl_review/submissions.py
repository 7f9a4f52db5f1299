"""Submitting a decision on a task: the core decides, one transaction records it (with the label
event in the outbox), then the relay publishes the label."""

from __future__ import annotations

import asyncpg
from mitl_contracts import topics

from mitl_review.core import submission as rules
from mitl_review.core.auth import User
from mitl_review.core.errors import NotFound
from mitl_review.core.labels import label_event
from mitl_review.core.task import Task
from mitl_review.metrics import SUBMISSIONS
from mitl_review.outbox import OutboxRelay
from mitl_review.schemas import SubmitResult
from mitl_review.store import outbox, tasks


def result_of(task: Task, action: rules.SubmitAction) -> SubmitResult:
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
    )


async def submit(
    pool: asyncpg.Pool, relay: OutboxRelay, user: User, task_id: str, body: rules.Submission
) -> SubmitResult:
    async with pool.acquire() as conn, conn.transaction():
        locked = await tasks.lock(conn, task_id)
        if locked is None:
            raise NotFound(f"no task {task_id!r}")
        task, now = locked
        decision = rules.decide(task, user, body, now)
        match decision:
            case rules.Complete():
                event = label_event(task, decision, user, body.time_spent_ms, now)
                await tasks.complete(
                    conn,
                    task_id,
                    user,
                    body.action,
                    decision.label,
                    event.event_id,
                    body.time_spent_ms,
                )
                await outbox.add(conn, topics.LABELS, event)
                result = SubmitResult(
                    task_id=task_id,
                    status="done",
                    action=body.action,
                    label=decision.label,
                    label_event_id=event.event_id,
                )
            case rules.Escalate():
                await tasks.escalate(conn, task_id, user.name, decision.comment)
                result = result_of(task, body.action)
            case rules.Skip():
                await tasks.skip(conn, task_id, user.name)
                result = result_of(task, body.action)
            case rules.Replay():
                result = result_of(task, body.action)
    if not isinstance(decision, rules.Replay):
        SUBMISSIONS.labels(body.action, user.role).inc()
    # Also after a replay: a label whose first publication was interrupted goes out now.
    await relay.try_flush()
    return result
