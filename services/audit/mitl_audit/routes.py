"""Reports over HTTP: GET /v1/reports/{dataset} and GET /v1/overrides/{dataset}.

No `from __future__ import annotations` here: FastAPI evaluates the endpoint annotations, and
the `limit` bound comes from settings, a local that a string annotation could not see.
"""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response
from mitl_contracts.datasets import Catalog, UnknownDataset
from mitl_runtime.service import ServiceRuntime
from pydantic import BaseModel

from mitl_audit import store
from mitl_audit.entries import as_utc
from mitl_audit.report import Report, Window, to_csv

DatasetPath = Annotated[str, Path(min_length=1, max_length=200)]


class Override(BaseModel):
    seq: int
    item_id: str | None
    model_version: str | None
    suggested_label: str | None
    label: str | None
    annotator: str | None
    occurred_at: datetime


class Overrides(BaseModel):
    dataset: str
    overrides: list[Override]


def window(start: datetime | None, end: datetime | None) -> Window:
    """The report window, or 422 if it ends before it starts."""
    start = as_utc(start) if start else None
    end = as_utc(end) if end else None
    if start and end and start > end:
        raise HTTPException(422, f"'from' ({start.isoformat()}) is after 'to' ({end.isoformat()})")
    return Window(from_=start, to=end)


async def known(runtime: ServiceRuntime, catalog: Catalog, dataset: str) -> None:
    """404 unless the dataset is in the catalog or has rows in the log (a dataset removed from
    the catalog keeps its history)."""
    if dataset in catalog.datasets or await store.has_rows(runtime.pool, dataset):
        return
    raise HTTPException(404, str(UnknownDataset(dataset, list(catalog.datasets))))


def build_router(runtime: ServiceRuntime, catalog: Catalog, max_overrides: int) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["reports"])

    @router.get("/reports/{dataset}", response_model=Report)
    async def get_report(
        dataset: DatasetPath,
        start: Annotated[datetime | None, Query(alias="from")] = None,
        end: Annotated[datetime | None, Query(alias="to")] = None,
        format: Literal["json", "csv"] = "json",
    ) -> Report | Response:
        """Decisions by route (overall, per model version, per batch), labels, overrides and
        per-annotator confirmation rates over rows with from <= occurred_at < to."""
        span = window(start, end)
        await known(runtime, catalog, dataset)
        report = await store.load_report(runtime.pool, dataset, span)
        if format == "csv":
            return Response(
                to_csv(report),
                media_type="text/csv; charset=utf-8",
                headers={"content-disposition": f'attachment; filename="{dataset}-report.csv"'},
            )
        return report

    @router.get("/overrides/{dataset}", response_model=Overrides)
    async def get_overrides(
        dataset: DatasetPath,
        limit: Annotated[int, Query(ge=1, le=max_overrides)] = 100,
    ) -> Overrides:
        """The newest human labels that differ from the model's suggestion, newest first."""
        await known(runtime, catalog, dataset)
        rows = await store.overrides(runtime.pool, dataset, limit)
        return Overrides(dataset=dataset, overrides=[Override(**dict(r)) for r in rows])

    return router
