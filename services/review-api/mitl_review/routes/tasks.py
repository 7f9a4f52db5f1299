"""Submitting a decision on a claimed task."""

from __future__ import annotations

from fastapi import APIRouter
from mitl_contracts.api import SubmitResult

from mitl_review import submissions
from mitl_review.core.submission import Submission
from mitl_review.routes.deps import ContextDep, UserDep

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


@router.post("/{task_id}/submit", response_model=SubmitResult)
async def submit(task_id: str, body: Submission, ctx: ContextDep, user: UserDep) -> SubmitResult:
    """`confirm` labels the task with the model's suggestion (not on blind tasks); `correct`
    with `label`, one of the dataset's labels; `escalate` (annotators) sends it to the expert
    queue with `comment`; `skip` gives it back to the queue for others. Needs the caller's live
    lease: 409 if someone else holds it, it lapsed, or the task is done. Submitting what already
    settled the task again answers the same and publishes nothing new."""
    return await submissions.submit(
        ctx.pool, ctx.relay, user, task_id, body, ctx.clock, ctx.claimed
    )
