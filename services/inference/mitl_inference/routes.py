"""Inference over HTTP: the models this replica serves and the registry's versions."""

from __future__ import annotations

from fastapi import APIRouter
from mitl_runtime.service import ServiceRuntime

from mitl_inference.models import ModelSet
from mitl_inference.store import registry


def build_router(runtime: ServiceRuntime, models: ModelSet) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["models"])

    @router.get("/models")
    async def served() -> dict[str, object]:
        """The model version serving each dataset on this replica, with its manifest."""
        return {name: m.manifest.model_dump(mode="json") for name, m in models.by_dataset.items()}

    @router.get("/registry")
    async def versions(dataset: str | None = None) -> list[dict[str, object]]:
        """Every registered version (of `dataset`, if given) with its status and metrics."""
        return [r.summary() for r in await registry.listing(runtime.pool, dataset)]

    return router
