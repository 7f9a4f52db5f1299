"""GET /v1/export/{dataset}: the labeled dataset, with provenance, as JSONL or Parquet, or for
other tools as Label Studio JSON, CSV or Hugging Face JSONL (export_formats), and a span
dataset as CoNLL BIO or spaCy JSON (span_formats).

No `from __future__ import annotations` here: FastAPI evaluates the endpoint annotations.
"""

import logging
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse
from mitl_contracts.datasets import Catalog
from mitl_runtime.auth.authenticator import Authenticator
from mitl_runtime.auth.guard import requires
from mitl_runtime.auth.principal import Principal
from mitl_runtime.service import ServiceRuntime
from starlette.background import BackgroundTask

from mitl_audit.core.access import export_entry
from mitl_audit.core.export import MEDIA_TYPES, Format, format_problem
from mitl_audit.core.export_formats import EXTENSIONS
from mitl_audit.metrics import EXPORTED_ITEMS, EXPORTS
from mitl_audit.routes.images import add_image_route
from mitl_audit.routes.reports import DatasetPath, known, window
from mitl_audit.store import log as chained
from mitl_audit.store.export import Selection, export_to

log = logging.getLogger(__name__)


def build_export_router(
    runtime: ServiceRuntime, catalog: Catalog, authenticator: Authenticator
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["export"])
    exporter = requires(authenticator, "export:read", "exporting a dataset")

    @router.get(
        "/export/{dataset}",
        response_class=FileResponse,
        responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}},
    )
    async def get_export(
        dataset: DatasetPath,
        principal: Annotated[Principal, Depends(exporter)],
        format: Format = "jsonl",
        start: Annotated[datetime | None, Query(alias="from")] = None,
        end: Annotated[datetime | None, Query(alias="to")] = None,
        batch: Annotated[
            str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00]+$")
        ] = None,
    ) -> FileResponse:
        """One row per labeled item: its content, final label (the latest human label, else
        the auto-accepted one) and the label's provenance, for labels given with
        from <= time < to, of items of `batch`. 404 for an unknown dataset, 422 for a window
        that ends before it starts or a span format (conll, spacy) of another task."""
        span = window(start, end)
        await known(runtime, catalog, dataset)
        spec = catalog.datasets.get(dataset)
        problem = format_problem(format, None if spec is None else spec.task)
        if problem is not None:
            raise HTTPException(422, problem)
        selection = Selection(dataset, span.from_, span.to, batch)
        # Built in a file of its own, then streamed from disk: the same code path as
        # `mitl export`, and memory stays flat whatever the dataset's size.
        folder = Path(tempfile.mkdtemp(prefix="mitl-export-"))
        try:
            path = folder / f"{dataset}.{EXTENSIONS[format]}"
            async with runtime.pool.acquire() as conn:
                count = await export_to(conn, selection, path, format)
            # Who exported what goes into the chain before the file goes out.
            who = principal.describe()
            entry = export_entry(
                dataset, who, format, (span.from_, span.to), batch, count, datetime.now(UTC)
            )
            await chained.append(runtime.pool, [entry])
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        log.info("exported %d items of %s as %s for %s", count, dataset, format, who)
        EXPORTS.labels(format).inc()
        EXPORTED_ITEMS.labels(dataset).inc(count)
        return FileResponse(
            path,
            media_type=MEDIA_TYPES[format],
            filename=path.name,
            headers={"x-mitl-export-items": str(count)},
            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        )

    add_image_route(router, runtime, catalog, authenticator)
    return router
