"""Queues: their depths, and claiming the next task of one."""

from __future__ import annotations

from fastapi import APIRouter, Response
from mitl_contracts.events import Queue

from mitl_review import claims
from mitl_review.context import Context
from mitl_review.core.auth import User
from mitl_review.core.task import QUEUES
from mitl_review.routes.deps import ContextDep, UserDep
from mitl_review.schemas import QueueDepth, Queues, TaskView
from mitl_review.store import stats

router = APIRouter(prefix="/v1/queues", tags=["queues"])


@router.get("", response_model=Queues)
async def list_queues(ctx: ContextDep, user: UserDep) -> Queues:
    """Depth of every queue the caller may work on (admins: every one): each dataset of the
    catalog has an annotator and an expert queue (queues of datasets no longer in the catalog
    are listed while they hold open tasks)."""
    depths = await stats.queue_depths(ctx.pool)
    keys = {(name, queue) for name in ctx.catalog.datasets for queue in QUEUES} | set(depths)
    listed = []
    for dataset, queue in sorted(keys):
        if not user.may_use(dataset):
            continue
        depth, leased = depths.get((dataset, queue), (0, 0))
        listed.append(QueueDepth(dataset=dataset, queue=queue, depth=depth, leased=leased))
    return Queues(queues=listed)


@router.post(
    "/{dataset}/{queue}/claim",
    response_model=TaskView,
    responses={204: {"description": "Nothing to claim in this queue"}},
)
async def claim(dataset: str, queue: Queue, ctx: ContextDep, user: UserDep) -> TaskView | Response:
    """Lease the next task of the queue (highest priority, then oldest) to the caller for
    `lease_seconds`; a share `gold_rate` of claims gets one of the caller's unanswered gold
    items instead, blind. A caller holding a live lease in this queue gets that task again.
    204 when there is nothing to claim; 403 if the caller's role may not work on this queue."""
    view = await claim_view(ctx, user, dataset, queue)
    return Response(status_code=204) if view is None else view


async def claim_view(ctx: Context, user: User, dataset: str, queue: Queue) -> TaskView | None:
    """The claim as the caller sees it (this route's work, also done by hot_paths)."""
    spec = ctx.catalog.get(dataset)
    mix = claims.GoldMix(
        ctx.settings.gold_rate,
        ctx.gold_draw,
        tuple(spec.labels),
        span_task=spec.task == "spans",
        allow_overlap=spec.allow_overlap,
    )
    task = await claims.claim(
        ctx.pool, user, dataset, queue, ctx.settings.lease_seconds, mix, ctx.clock
    )
    if task is None:
        return None
    ctx.claimed.remember(task)
    return TaskView.of(task)
