"""How people work (admins): confirmation rate, gold accuracy, spot-check agreement, time per
item, and who is flagged for over-relying on the model."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from mitl_review.annotators import assess_all, thresholds
from mitl_review.core.auth import check_admin
from mitl_review.routes.deps import ContextDep, UserDep
from mitl_review.schemas import Annotators, AnnotatorView, FlagThresholds
from mitl_review.store import users

router = APIRouter(prefix="/v1/annotators", tags=["annotators"])


@router.get("", response_model=Annotators)
async def list_annotators(
    ctx: ContextDep, caller: UserDep, dataset: str | None = None
) -> Annotators:
    """Everyone who completed a task in the last `quality_window_days`, per dataset (or only
    `dataset`), by stable id with their display name beside it. Computed from the database
    now; the same numbers are exported as `mitl_review_annotator_*` metrics."""
    check_admin(caller)
    if dataset is not None:
        ctx.catalog.get(dataset)
    qualities = await assess_all(ctx.pool, ctx.settings, dataset)
    if dataset is None:
        ctx.quality.export(qualities)
    names = await users.display_names(ctx.pool, sorted({q.counts.annotator for q in qualities}))
    views = [
        AnnotatorView(
            annotator=q.counts.annotator,
            display_name=names.get(q.counts.annotator, q.counts.annotator),
            role=q.counts.role,
            dataset=q.counts.dataset,
            done=q.counts.done,
            reviews_shown=q.counts.reviews_shown,
            confirmations=q.counts.confirmations,
            confirmation_rate=q.confirmation_rate,
            gold_answered=q.counts.gold_answered,
            gold_correct=q.counts.gold_correct,
            gold_accuracy=q.gold_accuracy,
            spot_checks=q.counts.spot_checks,
            spot_check_agreements=q.counts.spot_check_agreements,
            spot_check_agreement=q.spot_check_agreement,
            seconds_per_item=q.seconds_per_item,
            flagged=q.flagged,
            flag_reason=q.flag_reason,
        )
        for q in qualities
    ]
    limits = thresholds(ctx.settings)
    return Annotators(
        window_days=ctx.settings.quality_window_days,
        thresholds=FlagThresholds(**asdict(limits)),
        annotators=views,
    )
