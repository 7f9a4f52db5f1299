"""Reports over HTTP: GET /v1/reports/{dataset} and GET /v1/overrides/{dataset}.

No `from __future__ import annotations` here: FastAPI evaluates the endpoint annotations, and
the `limit` bound comes from settings, a local that a string annotation could not see.
"""

import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response
from mitl_contracts.datasets import Catalog, UnknownDataset
from mitl_runtime.auth.authenticator import Authenticator
from mitl_runtime.service import ServiceRuntime
from pydantic import BaseModel

from mitl_audit.core.entries import as_utc
from mitl_audit.core.report import Report, Window
from mitl_audit.core.report_csv import to_csv
from mitl_audit.routes.readers import readers_router
from mitl_audit.store import log, reports

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


# What the contracts allow as a dataset name (mitl_contracts.events.Name): anything else names
# no dataset, and is answered without asking Postgres (which cannot even hold a NUL).
DATASET_NAME = re.compile(r"[A-Za-z0-9_.:\-]{1,200}")


def utc(name: str, moment: datetime | None) -> datetime | None:
    """`moment` in UTC, or 422 when it has none (a time at the calendar's edge with an offset
    that pushes it past year 1 or 9999)."""
    if moment is None:
        return None
    try:
        return as_utc(moment)
    except OverflowError:
        raise HTTPException(
            422, f"'{name}' ({moment.isoformat()}) cannot be expressed in UTC"
        ) from None


def window(start: datetime | None, end: datetime | None) -> Window:
    """The report window, or 422 if it ends before it starts."""
    start, end = utc("from", start), utc("to", end)
    if start and end and start > end:
        raise HTTPException(422, f"'from' ({start.isoformat()}) is after 'to' ({end.isoformat()})")
    return Window(from_=start, to=end)


async def known(runtime: ServiceRuntime, catalog: Catalog, dataset: str) -> None:
    """404 unless the dataset is in the catalog or has rows in the log (a dataset removed from
    the catalog keeps its history)."""
    if dataset in catalog.datasets:
        return
    if DATASET_NAME.fullmatch(dataset) and await log.has_rows(runtime.pool, dataset):
        return
    raise HTTPException(404, str(UnknownDataset(dataset, list(catalog.datasets))))


def build_router(
    runtime: ServiceRuntime, catalog: Catalog, max_overrides: int, authenticator: Authenticator
) -> APIRouter:
    """Every route needs the role auditor or admin (401 without credentials, 403 without
    the role)."""
    router = readers_router(authenticator, "reports", "reading reports")

    @router.get("/reports/{dataset}", response_model=Report)
    async def get_report(
        dataset: DatasetPath,
        start: Annotated[datetime | None, Query(alias="from")] = None,
        end: Annotated[datetime | None, Query(alias="to")] = None,
        format: Literal["json", "csv"] = "json",
    ) -> Report | Response:
        """Over rows with from <= occurred_at < to: the shares of decisions accepted, reviewed
        and escalated, labels and the override rate, and the precision of accepted labels
        estimated from spot checks (Wilson 95% interval), overall, per ingest batch, per model
        version and per class; per annotator, the same and the confirmation rate."""
        span = window(start, end)
        await known(runtime, catalog, dataset)
        report = await reports.load_report(runtime.pool, dataset, span)
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
        rows = await log.overrides(runtime.pool, dataset, limit)
        return Overrides(dataset=dataset, overrides=[Override(**dict(r)) for r in rows])

    return router
