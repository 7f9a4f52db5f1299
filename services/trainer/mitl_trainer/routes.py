"""POST /v1/retrain/{dataset} (ask for a model now) and GET /v1/retrain/{dataset} (what the
trainer knows and did).

No `from __future__ import annotations` here: FastAPI evaluates the endpoint annotations.
"""

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from mitl_contracts.datasets import Catalog, Dataset, UnknownDataset
from mitl_runtime.auth.guard import requires
from mitl_runtime.service import ServiceRuntime
from pydantic import BaseModel

from mitl_trainer.core import schedule
from mitl_trainer.handlers import Intake
from mitl_trainer.settings import Settings
from mitl_trainer.store import learned, retraining
from mitl_trainer.worker import readiness, training_set

DatasetPath = Annotated[str, Path(min_length=1, max_length=200)]


class Request(BaseModel):
    request_id: str
    trigger: str
    trigger_ref: str
    status: str
    outcome: str | None
    reason: str | None
    model_version: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class Model(BaseModel):
    model_version: str
    request_id: str
    artifact_sha256: str
    bundle_uri: str
    promoted: bool
    metrics: dict[str, float]
    created_at: datetime


class Status(BaseModel):
    dataset: str
    verified_labels: int
    needed_labels: int
    ready: bool
    reason: str
    champion: str | None
    requests: list[Request]
    models: list[Model]


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
        trainable(dataset)
        training = await training_set(runtime.pool, dataset, settings)
        ready = readiness(catalog, dataset, training, settings)
        if not ready.ready:
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
        request_id = schedule.manual_request_id(dataset, training.verified)
        await intake.make(request_id, dataset, "manual", str(training.verified))
        made = await retraining.get_request(runtime.pool, request_id)
        assert made is not None  # made above or before; requests are never deleted
        return dict(made)

    @router.get("/retrain/{dataset}", response_model=Status)
    async def status(
        dataset: DatasetPath, limit: Annotated[int, Query(ge=1, le=1000)] = 20
    ) -> Status:
        """Verified labels and whether they suffice; the champion the trainer knows; the
        newest requests and the models it produced."""
        trainable(dataset)
        training = await training_set(runtime.pool, dataset, settings)
        ready = readiness(catalog, dataset, training, settings)
        champion = await learned.champion(runtime.pool, dataset)
        models = [
            Model(**(dict(r) | {"metrics": json.loads(r["metrics"])}))
            for r in await retraining.models_of(runtime.pool, dataset, limit)
        ]
        return Status(
            dataset=dataset,
            verified_labels=ready.verified,
            needed_labels=ready.needed,
            ready=ready.ready,
            reason=ready.reason,
            champion=champion["model_version"] if champion else None,
            requests=[
                Request(**dict(r))
                for r in await retraining.requests_of(runtime.pool, dataset, limit)
            ],
            models=models,
        )

    return router
