"""Which model serves each dataset when a replica starts.

The registry's champion, if the dataset has one; else the catalog's `model` bundle, which is
registered and promoted as the first champion (under the registry lock, so replicas starting
together agree on one). A dataset with neither has no model: its items are dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from mitl_contracts.datasets import Catalog
from mitl_ml.artifacts import ArtifactStore

from mitl_inference import registration
from mitl_inference.models import ModelSet
from mitl_inference.store import registry, status_changes

log = logging.getLogger(__name__)


async def ensure_champions(
    pool: asyncpg.Pool, store: ArtifactStore, catalog: Catalog, models: ModelSet
) -> dict[str, str]:
    """Load every dataset's champion into `models`; returns dataset -> version served.
    Raises RegistrationError if a catalog bundle needed as first champion is unusable."""
    served: dict[str, str] = {}
    for name, dataset in catalog.datasets.items():
        champion = await registry.champion(pool, name)
        if champion is None and dataset.model is not None:
            record = await registration.register(
                pool,
                store,
                catalog,
                dataset.model,
                encoders=models.encoders,
                intra_op_threads=models.intra_op_threads,
            )
            await status_changes.promote(pool, name, record.version, only_if_no_champion=True)
            champion = await registry.champion(pool, name)
            log.info("dataset %s: first champion from the catalog bundle %s", name, dataset.model)
        if champion is None:
            log.warning("dataset %s has no model: its items will be dead-lettered", name)
            continue
        models.serve(name, await asyncio.to_thread(models.load, champion))
        served[name] = champion.version
    return served
