"""Consuming mitl.models.v1, twice.

- Every replica, in a consumer group of its own (starting at the latest offset), swaps to a
  newly promoted champion as soon as it hears of it, so the next batch does not wait for the
  load. Missing an event costs nothing but that wait: scoring follows the registry anyway.
- One replica per event, in the shared group, applies the event to the registry if it came
  from elsewhere (the trainer: an unknown version is registered from its bundle_uri) and
  re-scores the stale items (rescore.py). Only this group dead-letters bad events.

Applying an event is idempotent: promotions are keyed by event id, registration by artifact.
"""

from __future__ import annotations

import logging

from mitl_contracts.datasets import Catalog, UnknownDataset
from mitl_contracts.events import ModelPromoted
from mitl_ml.artifacts import ArtifactStore
from mitl_runtime.consumer import Handler, Received
from mitl_runtime.dlq import DeadLetters, InvalidMessage, SourceRecord
from mitl_runtime.service import ServiceRuntime

from mitl_inference import registration
from mitl_inference.models import ModelSet
from mitl_inference.rescore import Rescorer
from mitl_inference.store import registry, status_changes
from mitl_inference.store.registry import RegistryError

log = logging.getLogger(__name__)


class LoggedOnly(DeadLetters):
    """Dead-letters nothing, only logs: for a subscription every replica has, where the
    shared subscription already dead-letters the same record once."""

    async def send(self, record: SourceRecord, error: InvalidMessage) -> None:
        log.warning("%s[%d]@%d skipped: %s", record.topic, record.partition, record.offset, error)
        self.limit.record(True)


class ModelEvents:
    def __init__(
        self,
        runtime: ServiceRuntime,
        catalog: Catalog,
        store: ArtifactStore,
        models: ModelSet,
        rescorer: Rescorer,
    ) -> None:
        self.runtime = runtime
        self.catalog = catalog
        self.store = store
        self.models = models
        self.rescorer = rescorer

    async def apply(self, event: ModelPromoted) -> None:
        """Bring the registry up to date with `event`. Raises InvalidMessage if it never can:
        unknown dataset, unknown version without a usable bundle_uri, bundle rejected."""
        pool = self.runtime.pool
        try:
            self.catalog.get(event.dataset)
        except UnknownDataset as error:
            raise InvalidMessage(str(error), "dataset") from None
        if await registry.get(pool, event.dataset, event.model_version) is None:
            if not event.bundle_uri:
                raise InvalidMessage(
                    f"version {event.model_version!r} of dataset {event.dataset!r} is not "
                    "registered and the event has no bundle_uri to register it from",
                    "model",
                )
            try:
                await registration.register_uri(
                    pool,
                    self.store,
                    self.catalog,
                    event.bundle_uri,
                    expected_sha256=event.artifact_sha256,
                    encoders=self.models.encoders,
                    intra_op_threads=self.models.intra_op_threads,
                )
            except (registration.RegistrationError, RegistryError) as error:
                raise InvalidMessage(str(error), "model") from None
        if event.status == "champion":
            await status_changes.promote(
                pool, event.dataset, event.model_version, event_id=event.event_id, published=True
            )
        elif event.status == "retired":
            try:
                await status_changes.retire(
                    pool,
                    event.dataset,
                    event.model_version,
                    event_id=event.event_id,
                    published=True,
                )
            except RegistryError as error:
                log.warning("ignoring %s: %s", event.event_id, error)

    async def on_replica(self, batch: list[Received[ModelPromoted]]) -> None:
        """Per-replica group: serve whatever the registry now says is champion."""
        datasets: set[str] = set()
        for received in batch:
            event = received.event
            try:
                await self.apply(event)
            except InvalidMessage as error:
                log.warning("model event %s not applied: %s", event.event_id, error.reason)
                continue
            if event.status == "champion":
                datasets.add(event.dataset)
        for dataset in datasets:
            champion = await registry.champion(self.runtime.pool, dataset)
            if champion is not None:
                await self.models.serve_version(dataset, champion.version)

    def shared_handler(self, dead_letters: DeadLetters) -> Handler[ModelPromoted]:
        async def on_shared(batch: list[Received[ModelPromoted]]) -> None:
            """Shared group: apply, then re-score for each promotion in order."""
            for received in batch:
                event = received.event
                try:
                    await self.apply(event)
                except InvalidMessage as error:
                    await dead_letters.send(received.record, error)
                    continue
                if event.status == "champion":
                    await self.rescorer.run(event.dataset, event.model_version)

        return on_shared
