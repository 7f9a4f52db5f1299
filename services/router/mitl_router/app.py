"""Router's wiring: predictions and human labels in; decisions, review requests and
pseudo-labels out; drift alerts tighten policies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from mitl_contracts import topics
from mitl_contracts.datasets import load_catalog
from mitl_contracts.events import DriftAlert, Label, Prediction
from mitl_policy import core
from mitl_runtime.consumer import Received
from mitl_runtime.http import service_app
from mitl_runtime.service import ServiceRuntime

from mitl_router.handlers.labels import Feedback
from mitl_router.handlers.predictions import Router, check_prediction
from mitl_router.settings import Settings
from mitl_router.store import drift, thresholds

__all__ = ["check_prediction", "create_app"]


def create_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime("router", settings)
    catalog = load_catalog(settings.datasets_file)
    router = Router(runtime, catalog, runtime.dead_letters("mitl-router"))
    feedback = Feedback(runtime, catalog)

    async def on_drift(batch: list[Received[DriftAlert]]) -> None:
        await drift.record_drift(runtime.pool, [r.event for r in batch])

    runtime.subscribe(topics.PREDICTIONS, Prediction, router.handle)
    runtime.subscribe(topics.LABELS, Label, feedback.handle)
    runtime.subscribe(topics.DRIFT, DriftAlert, on_drift)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with runtime.running(schema="router", migrations="mitl_router"):
            yield

    app = service_app("router", runtime.health, lifespan)

    @app.get("/v1/policies", tags=["policies"])
    async def policies() -> dict[str, object]:
        """The policy in force per dataset (tightened where a drift alert is open), the open
        drift segments, and the thresholds learned per model version."""
        state = await drift.drift_state(runtime.pool)
        out: dict[str, object] = {}
        for name, ds in catalog.datasets.items():
            learned = {}
            if ds.policy.learns_thresholds:
                for version in await thresholds.versions(runtime.pool, name):
                    current, _ = await thresholds.current(
                        runtime.pool, name, version, ds.labels, ds.policy
                    )
                    learned[version] = {
                        label: entry.threshold for label, entry in current.classes.items()
                    } | {"spot_check_rate": current.spot_check_rate}
            out[name] = {
                "drift_active": name in state.datasets,
                "drift_segments": sorted(state.segments_of(name)),
                "policy": core.effective_policy(ds.policy, name in state.datasets).model_dump(),
                "learned_thresholds": learned,
            }
        return out

    return app
