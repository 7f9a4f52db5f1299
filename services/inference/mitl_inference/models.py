"""The model versions this replica has loaded, and the champion serving each dataset.

Versions load from the artifact store by their registry record, off the event loop (a
replica with a store of its own copies the bundle in from the record's URI first). Every
dataset's champion stays loaded, plus the `cache_size` most recently used other versions (a
redelivered batch is re-scored by the version that claimed it; a rollback is instant).
Swapping a champion is one dict assignment made between batches, so a batch never mixes two
versions and every prediction names the version that made it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path

from mitl_contracts.datasets import Catalog
from mitl_ml.artifacts import ArtifactStore, bundle_path, manifest_digest
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.errors import ModelLoadError
from mitl_ml.manifest import MANIFEST_FILE, read_manifest
from mitl_ml.runtime import ENCODER_KINDS, LoadedModel, load_model

from mitl_inference.compatibility import check_fits
from mitl_inference.metrics import MODEL_INFO, MODEL_LOAD_SECONDS, MODEL_SWAPS
from mitl_inference.registry import ModelRecord, RegistryError

log = logging.getLogger(__name__)
Key = tuple[str, str]
RecordLookup = Callable[[str, str], Awaitable[ModelRecord | None]]


class ModelSet:
    def __init__(
        self,
        catalog: Catalog,
        store: ArtifactStore,
        records: RecordLookup,
        *,
        intra_op_threads: int,
        cache_size: int,
        allow_spinning: bool = False,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.records = records
        self.intra_op_threads = intra_op_threads
        self.allow_spinning = allow_spinning
        self.cache_size = cache_size
        self.by_dataset: dict[str, LoadedModel] = {}
        self._encoder: MiniLMEncoder | None = None
        self._loaded: OrderedDict[Key, LoadedModel] = OrderedDict()
        self._loading: dict[Key, asyncio.Lock] = {}

    def encoder(self) -> MiniLMEncoder:
        # One encoder session shared by every MiniLM head: the 21 MB encoder is the big part.
        if self._encoder is None:
            self._encoder = MiniLMEncoder(
                intra_op_threads=self.intra_op_threads, allow_spinning=self.allow_spinning
            )
        return self._encoder

    def load(self, record: ModelRecord) -> LoadedModel:
        """Load `record`'s bundle from the artifact store (blocking). Raises ModelLoadError
        if the stored bundle is missing or altered, IncompatibleModel if it does not fit."""
        started = time.perf_counter()
        bundle = self.fetch(record)
        kind = read_manifest(bundle).kind
        encoder = self.encoder() if kind in ENCODER_KINDS else None
        model = load_model(bundle, self.intra_op_threads, encoder, self.allow_spinning)
        check_fits(model.manifest, self.catalog.get(record.dataset))
        MODEL_LOAD_SECONDS.observe(time.perf_counter() - started)
        return model

    def fetch(self, record: ModelRecord) -> Path:
        """The record's bundle in this replica's artifact store, copied there from the
        record's bundle_uri (the store it was registered into) if it is not there yet."""
        try:
            return self.store.open(record.artifact_sha256)
        except ModelLoadError:
            source = bundle_path(record.bundle_uri)
            if not (source / MANIFEST_FILE).exists():
                raise
        if manifest_digest(source) != record.artifact_sha256:
            raise ModelLoadError(
                f"{record.bundle_uri}: not the bundle {record.artifact_sha256[:12]}… registered "
                f"as {record.dataset} {record.version}"
            )
        self.store.put(source)
        return self.store.open(record.artifact_sha256)

    async def get(self, dataset: str, version: str) -> LoadedModel:
        """The loaded `version` of `dataset`, loading it if needed. Raises RegistryError if
        the registry does not know it."""
        key = (dataset, version)
        if (model := self._cached(key)) is not None:
            return model
        lock = self._loading.setdefault(key, asyncio.Lock())
        async with lock:
            if (model := self._cached(key)) is not None:
                return model
            record = await self.records(dataset, version)
            if record is None:
                raise RegistryError(f"version {version!r} of dataset {dataset!r} is not registered")
            model = await asyncio.to_thread(self.load, record)
            self._remember(key, model)
        self._loading.pop(key, None)
        return model

    async def serve_version(self, dataset: str, version: str) -> LoadedModel:
        """Load `version` if needed and make it the champion this replica serves."""
        model = await self.get(dataset, version)
        self.serve(dataset, model)
        return model

    def serve(self, dataset: str, model: LoadedModel) -> bool:
        """Serve `dataset` with `model` from the next batch on; True if that is a change."""
        previous = self.by_dataset.get(dataset)
        if previous is not None and previous.version == model.version:
            return False
        self._remember((dataset, model.version), model)
        self.by_dataset[dataset] = model
        if previous is not None:
            MODEL_INFO.labels(dataset, previous.version).set(0)
            MODEL_SWAPS.labels(dataset).inc()
        MODEL_INFO.labels(dataset, model.version).set(1)
        log.info(
            "dataset %s served by model %s (was %s)",
            dataset,
            model.version,
            previous.version if previous else "none",
        )
        self._evict()
        return True

    def served(self) -> set[str]:
        return set(self.by_dataset)

    def _cached(self, key: Key) -> LoadedModel | None:
        model = self._loaded.get(key)
        if model is not None:
            self._loaded.move_to_end(key)
        return model

    def _remember(self, key: Key, model: LoadedModel) -> None:
        self._loaded[key] = model
        self._loaded.move_to_end(key)
        self._evict()

    def _evict(self) -> None:
        champions = {(d, m.version) for d, m in self.by_dataset.items()}
        others = [key for key in self._loaded if key not in champions]
        for key in others[: max(0, len(others) - self.cache_size)]:
            del self._loaded[key]
