"""The datasets people can label, from the catalog."""

from __future__ import annotations

from fastapi import APIRouter

from mitl_review.routes.deps import ContextDep, UserDep
from mitl_review.schemas import DatasetInfo, Datasets

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])


@router.get("", response_model=Datasets)
async def list_datasets(ctx: ContextDep, _: UserDep) -> Datasets:
    """Every dataset with its labels, in the order the label keys 1..N use."""
    return Datasets(datasets=[DatasetInfo.of(d) for _, d in sorted(ctx.catalog.datasets.items())])
