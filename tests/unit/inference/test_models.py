"""The replica's loaded versions: champions stay, others are kept LRU up to the cache size,
a version loads once even when asked for concurrently, and a swap is reported once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mitl_contracts.datasets import Catalog, Dataset
from mitl_inference.models import ModelSet
from mitl_inference.store.registry import ModelRecord, RegistryError
from mitl_ml.artifacts import ArtifactStore
from mitl_ml.manifest import ModelManifest

CATALOG = Catalog(datasets={"d": Dataset(name="d", labels=["a", "b"])})


class Stub:
    def __init__(self, version: str) -> None:
        self.version = version


def record(version: str) -> ModelRecord:
    manifest = ModelManifest(
        name="m",
        version=version,
        dataset="d",
        kind="tfidf-logreg",
        labels=["a", "b"],
        input_kind="text",
        files={"pipeline": "p.onnx"},
    )
    now = datetime.now(UTC)
    return ModelRecord(
        "d", version, "tfidf-logreg", "candidate", "0" * 64, "", manifest, now, None, None
    )


class CountingModels(ModelSet):
    """Loads stubs instead of bundles and counts the loads."""

    def __init__(self, cache_size: int, known: set[str]) -> None:
        async def lookup(dataset: str, version: str) -> ModelRecord | None:
            return record(version) if version in known else None

        super().__init__(
            CATALOG,
            ArtifactStore(Path("/nonexistent")),
            lookup,
            intra_op_threads=1,
            cache_size=cache_size,
        )
        self.loads: list[str] = []

    def load(self, rec: ModelRecord) -> Any:
        self.loads.append(rec.version)
        return Stub(rec.version)


async def test_a_version_loads_once_even_when_asked_for_concurrently() -> None:
    models = CountingModels(cache_size=2, known={"v1"})
    first, second = await asyncio.gather(models.get("d", "v1"), models.get("d", "v1"))
    assert first is second and models.loads == ["v1"]
    assert await models.get("d", "v1") is first and models.loads == ["v1"]


async def test_unknown_versions_are_a_registry_error() -> None:
    with pytest.raises(RegistryError, match="'v9' of dataset 'd' is not registered"):
        await CountingModels(cache_size=1, known=set()).get("d", "v9")


async def test_champions_stay_loaded_and_others_are_evicted_least_recent_first() -> None:
    models = CountingModels(cache_size=1, known={"v1", "v2", "v3"})
    await models.serve_version("d", "v1")
    await models.get("d", "v2")
    await models.get("d", "v3")  # evicts v2, never the champion v1
    await models.get("d", "v1")
    await models.get("d", "v2")
    assert models.loads == ["v1", "v2", "v3", "v2"]
    assert models.by_dataset["d"].version == "v1"


def test_serve_reports_a_change_once() -> None:
    models = CountingModels(cache_size=0, known=set())
    assert models.serve("d", Stub("v1")) is True  # type: ignore[arg-type]
    assert models.serve("d", Stub("v1")) is False  # type: ignore[arg-type]
    assert models.serve("d", Stub("v2")) is True  # type: ignore[arg-type]
    assert models.served() == {"d"} and models.by_dataset["d"].version == "v2"
