"""Gold items (admins): items with known labels, mixed blind into people's work."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query

from mitl_review.core.auth import check_admin
from mitl_review.core.gold import GoldUpload, check_upload
from mitl_review.routes.deps import ContextDep, UserDep
from mitl_review.schemas import GoldItems, GoldItemView, GoldStored
from mitl_review.store import gold

router = APIRouter(prefix="/v1/gold", tags=["gold"])


@router.post("/{dataset}", response_model=GoldStored)
async def upload(dataset: str, body: GoldUpload, ctx: ContextDep, caller: UserDep) -> GoldStored:
    """Add or update gold items of `dataset`, keyed by `external_id`. Every item must fit the
    dataset (input kind, size) and its `label` must be in the label set; otherwise 422 names
    each bad item and nothing is stored."""
    check_admin(caller)
    items = check_upload(ctx.catalog.get(dataset), body)
    async with ctx.pool.acquire() as conn, conn.transaction():
        stored = await gold.upsert(conn, items)
        total = await gold.count(conn, dataset)
    return GoldStored(dataset=dataset, total=total, **asdict(stored))


@router.get("/{dataset}", response_model=GoldItems)
async def list_gold(
    dataset: str,
    ctx: ContextDep,
    caller: UserDep,
    limit: Annotated[int, Query(ge=0, le=1000)] = 100,
) -> GoldItems:
    """The dataset's gold items with their known labels, by external id (admins only: the
    answers must not reach the people they check)."""
    check_admin(caller)
    ctx.catalog.get(dataset)
    total, items = await gold.listing(ctx.pool, dataset, limit)
    views = [
        GoldItemView(gold_id=i.gold_id, external_id=i.external_id, content=i.content, label=i.label)
        for i in items
    ]
    return GoldItems(dataset=dataset, total=total, items=views)
