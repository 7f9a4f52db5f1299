"""Router's wiring: predictions in; decisions, review requests and pseudo-labels out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from mitl_contracts import topics
from mitl_contracts.datasets import Catalog, UnknownDataset, load_catalog
from mitl_contracts.events import DriftAlert, Event, Prediction
from mitl_runtime.consumer import Received
from mitl_runtime.dlq import InvalidMessage
from mitl_runtime.http import service_app
from mitl_runtime.service import ServiceRuntime

from mitl_router import core, store
from mitl_router.metrics import DECISIONS, DRIFT_TIGHTENED, SPOT_CHECKS
from mitl_router.settings import Settings


def check_prediction(prediction: Prediction, catalog: Catalog) -> None:
    """Raise InvalidMessage unless the prediction is over its dataset's exact label set."""
    try:
        dataset = catalog.get(prediction.dataset)
    except UnknownDataset as error:
        raise InvalidMessage(str(error), "dataset") from None
    if prediction.labels != dataset.labels:
        raise InvalidMessage(
            f"prediction labels {prediction.labels} are not dataset {dataset.name!r}'s "
            f"label set {dataset.labels}",
            "labels",
        )


def create_app(settings: Settings) -> FastAPI:  # type: ignore[override]
    runtime = ServiceRuntime("router", settings)
    catalog = load_catalog(settings.datasets_file)
    dead_letters = runtime.dead_letters("mitl-router")

    async def on_predictions(batch: list[Received[Prediction]]) -> None:
        drifting = await store.drifting_datasets(runtime.pool)
        now = datetime.now(UTC)
        for name in catalog.datasets:
            DRIFT_TIGHTENED.labels(name).set(name in drifting)
        decisions: list[Event] = []
        reviews: list[Event] = []
        labels: list[Event] = []
        for received in batch:
            prediction = received.event
            try:
                check_prediction(prediction, catalog)
            except InvalidMessage as error:
                await dead_letters.send(received.record, error)
                continue
            policy = catalog.get(prediction.dataset).policy
            routed = core.route(
                prediction, policy, now=now, drift_active=prediction.dataset in drifting
            )
            decisions.append(routed.decision)
            if routed.review:
                reviews.append(routed.review)
            if routed.label:
                labels.append(routed.label)
            DECISIONS.labels(
                prediction.dataset, routed.decision.route, prediction.model_version
            ).inc()
            if routed.decision.spot_check:
                SPOT_CHECKS.labels(prediction.dataset).inc()
        # Decisions first: an audit reader never sees a label without the decision behind it.
        await runtime.publish(topics.DECISIONS, decisions)
        await runtime.publish(topics.REVIEW_REQUESTED, reviews)
        await runtime.publish(topics.LABELS, labels)

    async def on_drift(batch: list[Received[DriftAlert]]) -> None:
        await store.record_drift(runtime.pool, [r.event for r in batch])

    runtime.subscribe(topics.PREDICTIONS, Prediction, on_predictions)
    runtime.subscribe(topics.DRIFT, DriftAlert, on_drift)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with runtime.running(schema="router", migrations="mitl_router"):
            yield

    app = service_app("router", runtime.health, lifespan)

    @app.get("/v1/policies", tags=["policies"])
    async def policies() -> dict[str, object]:
        """The policy in force per dataset, tightened where a drift alert is open."""
        drifting = await store.drifting_datasets(runtime.pool)
        return {
            name: {
                "drift_active": name in drifting,
                "policy": core.effective_policy(ds.policy, name in drifting).model_dump(),
            }
            for name, ds in catalog.datasets.items()
        }

    return app
