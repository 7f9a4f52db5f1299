"""The datasets people can label, from the catalog."""

from __future__ import annotations

from fastapi import APIRouter

from mitl_review.routes.deps import ContextDep, UserDep
from mitl_review.schemas import DatasetInfo, Datasets

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])


@router.get("", response_model=Datasets)
async def list_datasets(ctx: ContextDep, user: UserDep) -> Datasets:
    """The datasets the caller may work on (admins: every one) with their labels, in the order
    the label keys 1..N use."""
    return Datasets(
        datasets=[
            DatasetInfo.of(d)
            for name, d in sorted(ctx.catalog.datasets.items())
            if user.may_use(name)
        ]
    )
