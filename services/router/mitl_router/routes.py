"""The router over HTTP: GET /v1/policies."""

from __future__ import annotations

from fastapi import APIRouter
from mitl_contracts.datasets import Catalog
from mitl_policy import core
from mitl_runtime.service import ServiceRuntime

from mitl_router.store import drift, thresholds


def build_router(runtime: ServiceRuntime, catalog: Catalog) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["policies"])

    @router.get("/policies")
    async def policies() -> dict[str, object]:
        """The policy in force per dataset (tightened where a drift alert is open), the open
        drift segments, and the thresholds learned per model version."""
        state = await drift.drift_state(runtime.pool)
        out: dict[str, object] = {}
        for name, ds in catalog.datasets.items():
            learned = {}
            if ds.policy.learns_thresholds:
                for version in await thresholds.versions(runtime.pool, name):
                    current, _ = await thresholds.current(runtime.pool, ds, version)
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

    return router
