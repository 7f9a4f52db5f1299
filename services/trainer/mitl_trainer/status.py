"""What the trainer knows and did for a dataset: its verified labels and whether they suffice
to train, the champion it knows, the newest retraining requests and the models they produced
(GET /v1/retrain/{dataset} serves it, `mitl retrain --status` prints it); and the manual
request an operator's ask makes (POST /v1/retrain/{dataset}, `mitl retrain`)."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg
from mitl_contracts.datasets import Dataset
from pydantic import BaseModel

from mitl_trainer.core import schedule
from mitl_trainer.settings import Settings
from mitl_trainer.store import learned, retraining
from mitl_trainer.worker import readiness, training_set


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


async def status_of(pool: asyncpg.Pool, dataset: Dataset, settings: Settings, limit: int) -> Status:
    """The dataset's status now, with its `limit` newest requests and models."""
    training = await training_set(pool, dataset.name, settings)
    ready = readiness(dataset, training, settings)
    champion = await learned.champion(pool, dataset.name)
    requests = await retraining.requests_of(pool, dataset.name, limit)
    return Status(
        dataset=dataset.name,
        verified_labels=ready.verified,
        needed_labels=ready.needed,
        ready=ready.ready,
        reason=ready.reason,
        champion=champion["model_version"] if champion else None,
        requests=[Request(**dict(r)) for r in requests],
        models=await models_of(pool, dataset.name, limit),
    )


async def models_of(pool: asyncpg.Pool, dataset: str, limit: int) -> list[Model]:
    """The dataset's `limit` newest models the trainer produced."""
    return [
        Model(**(dict(r) | {"metrics": json.loads(r["metrics"])}))
        for r in await retraining.models_of(pool, dataset, limit)
    ]


async def manual_request(
    pool: asyncpg.Pool, dataset: Dataset, settings: Settings
) -> tuple[schedule.Readiness, str | None]:
    """Whether the dataset's verified labels can train now and, if so, the id of the manual
    request they make: asking twice with no new labels is one request."""
    training = await training_set(pool, dataset.name, settings)
    ready = readiness(dataset, training, settings)
    if not ready.ready:
        return ready, None
    return ready, schedule.manual_request_id(dataset.name, training.verified)
