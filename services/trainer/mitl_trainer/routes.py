"""POST /v1/retrain/{dataset} (ask for a model now) and GET /v1/retrain/{dataset} (what the
trainer knows and did).

No `from __future__ import annotations` here: FastAPI evaluates the endpoint annotations.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from mitl_contracts.datasets import Catalog, Dataset, UnknownDataset
from mitl_runtime.auth.guard import requires
from mitl_runtime.service import ServiceRuntime

from mitl_trainer.handlers import Intake
from mitl_trainer.settings import Settings
from mitl_trainer.status import Request, Status, manual_request, status_of
from mitl_trainer.store import retraining

DatasetPath = Annotated[str, Path(min_length=1, max_length=200)]


def build_router(
    runtime: ServiceRuntime, catalog: Catalog, settings: Settings, intake: Intake
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["retraining"])
    admin = Depends(requires(settings.authenticator(), "retrain:request", "retraining"))

    def trainable(name: str) -> Dataset:
        try:
            return catalog.get(name)
        except UnknownDataset as error:
            raise HTTPException(404, str(error)) from None

    @router.post(
        "/retrain/{dataset}", status_code=202, response_model=Request, dependencies=[admin]
    )
    async def retrain(dataset: DatasetPath) -> Any:
        """Ask for a candidate trained on the dataset's verified labels now (202, with the
        request). 409 while there are too few labels, saying how many there are and how many
        are needed; asking again with no new labels returns the same request."""
        found = trainable(dataset)  # 404 before the database is asked
        ready, request_id = await manual_request(runtime.pool, found, settings)
        if request_id is None:
            raise HTTPException(
                409,
                {
                    "message": ready.reason,
                    "verified_labels": ready.verified,
                    "needed_labels": ready.needed,
                    "min_per_class": settings.min_per_class,
                    "short_classes": ready.short_classes,
                },
            )
        await intake.make(request_id, dataset, "manual", str(ready.verified))
        made = await retraining.get_request(runtime.pool, request_id)
        assert made is not None  # made above or before; requests are never deleted
        return dict(made)

    @router.get("/retrain/{dataset}", response_model=Status)
    async def status(
        dataset: DatasetPath, limit: Annotated[int, Query(ge=1, le=1000)] = 20
    ) -> Status:
        """Verified labels and whether they suffice; the champion the trainer knows; the
        newest requests and the models it produced."""
        found = trainable(dataset)  # 404 before the database is asked
        return await status_of(runtime.pool, found, settings, limit)

    return router
