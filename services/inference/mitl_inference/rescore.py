"""Re-scoring after a promotion, so annotators never see an old champion's suggestion.

Items that are still unlabeled among the newest `rescore_window` predicted items of the
dataset get a fresh Prediction from the new champion (id per item and version, as always).
The router routes it again; review-api treats a ReviewRequested for an item with an open
task as an update of that task.

Order of work for one promotion (run by one replica: the shared consumer group):
1. wait `rescore_settle_ms`, so items routed just before the promotion get their
   auto-accepted labels first and are left alone;
2. stop if the version is no longer the champion (a later promotion re-scores instead);
3. wait until every item claimed by an older version is published, at most
   `rescore_drain_timeout_s` (a claim that started before the promotion committed may
   still use the older version; one that starts after cannot: ledger.claim);
4. re-score what is stale, in batches, recording each batch once published.
"""

from __future__ import annotations

import asyncio
import logging
import time

from mitl_contracts import topics
from mitl_contracts.datasets import Catalog
from mitl_runtime.service import ServiceRuntime

from mitl_inference import core
from mitl_inference.metrics import RESCORED
from mitl_inference.models import ModelSet
from mitl_inference.settings import Settings
from mitl_inference.store import registry, window

log = logging.getLogger(__name__)
DRAIN_POLL_S = 0.05


class Rescorer:
    def __init__(
        self, runtime: ServiceRuntime, catalog: Catalog, models: ModelSet, settings: Settings
    ) -> None:
        self.runtime = runtime
        self.catalog = catalog
        self.models = models
        self.settings = settings

    async def run(self, dataset: str, version: str) -> int:
        """Re-score the stale items of `dataset` with champion `version`; returns how many."""
        if self.settings.rescore_window == 0:
            return 0
        await asyncio.sleep(self.settings.rescore_settle_ms / 1000)
        champion = await registry.champion(self.runtime.pool, dataset)
        if champion is None or champion.version != version:
            log.info("not re-scoring %s for %s: no longer the champion", dataset, version)
            return 0
        await self._drain(dataset, version)
        stale = await window.stale(
            self.runtime.pool, dataset, version, self.settings.rescore_window
        )
        if not stale:
            return 0
        model = await self.models.get(dataset, version)
        labels = self.catalog.get(dataset).labels
        size = self.settings.rescore_batch
        for start in range(0, len(stale), size):
            chunk = stale[start : start + size]
            output = await asyncio.to_thread(model.predict, core.model_inputs(chunk))
            predictions, misfits = core.checked_predictions(
                chunk,
                output,
                model.version,
                model.labels,
                labels,
                multilabel=model.multilabel,
                dataset=self.catalog.get(dataset),
            )
            for misfit in misfits:
                # The item keeps its earlier prediction: it was valid when published.
                log.warning("not re-scoring %s: %s", chunk[misfit.index].item_id, misfit.reason)
            await self.runtime.publish(topics.PREDICTIONS, list(predictions))
            await window.rescored(self.runtime.pool, dataset, predictions)
            RESCORED.labels(dataset, version).inc(len(predictions))
        log.info("re-scored %d unlabeled items of %s with %s", len(stale), dataset, version)
        return len(stale)

    async def _drain(self, dataset: str, version: str) -> None:
        deadline = time.monotonic() + self.settings.rescore_drain_timeout_s
        while (left := await window.undrained(self.runtime.pool, dataset, version)) > 0:
            if time.monotonic() > deadline:
                log.warning(
                    "re-scoring %s for %s while %d items claimed by an older version are "
                    "still unpublished; they keep the older suggestion",
                    dataset,
                    version,
                    left,
                )
                return
            await asyncio.sleep(DRAIN_POLL_S)
