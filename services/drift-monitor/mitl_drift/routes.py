"""Drift over HTTP: GET /v1/drift/{dataset}."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from mitl_contracts.datasets import Catalog, UnknownDataset
from mitl_runtime.service import ServiceRuntime

from mitl_drift import store
from mitl_drift.report import DriftReport, report


def build_router(runtime: ServiceRuntime, catalog: Catalog) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["drift"])

    @router.get("/drift/{dataset}", response_model=DriftReport)
    async def get_drift(dataset: str) -> DriftReport:
        """Current statistics and alert states of each model version of `dataset`; 404 for a
        dataset neither in the catalog nor ever seen."""
        monitors = await store.monitors(runtime.pool, dataset)
        if not monitors and dataset not in catalog.datasets:
            raise HTTPException(404, str(UnknownDataset(dataset, list(catalog.datasets))))
        statistics = await store.statistics(runtime.pool, [dataset])
        return report(dataset, monitors, statistics)

    return router
