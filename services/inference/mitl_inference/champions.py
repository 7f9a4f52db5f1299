"""Which model serves each dataset when a replica starts.

The registry's champion, if the dataset has one; else the catalog's `model` bundle, which is
registered and promoted as the first champion (under the registry lock, so replicas starting
together agree on one). A dataset with neither has no model: its items are dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncpg
from mitl_contracts.datasets import Catalog
from mitl_ml.artifacts import ArtifactStore
from mitl_ml.errors import ModelLoadError
from mitl_ml.manifest import read_manifest

from mitl_inference import registration
from mitl_inference.models import ModelSet
from mitl_inference.registration import RegistrationError
from mitl_inference.store import registry, status_changes

log = logging.getLogger(__name__)


def check_built_for(name: str, bundle_dir: Path) -> None:
    """RegistrationError unless the catalog bundle `bundle_dir` of dataset `name` was built
    for `name`. A bundle is registered and served under the dataset its manifest names, so a
    dataset whose `model:` names another's bundle (a copy of a dataset's block, say) would
    register it for the other dataset and then find nothing to promote for its own."""
    try:
        built_for = read_manifest(bundle_dir).dataset
    except ModelLoadError as error:
        raise RegistrationError(f"dataset {name!r}: model {bundle_dir}: {error}") from None
    if built_for != name:
        raise RegistrationError(
            f"dataset {name!r}: its model {bundle_dir} is a bundle for dataset {built_for!r}; "
            f"a bundle serves the dataset it was built for. Build one for {name!r} from a "
            f"file of labeled items (`mitl bootstrap {name} FILE`) and name it here; or leave "
            f"`model:` out: {name!r} then takes client predictions, and its other items are "
            "dead-lettered until it has a model"
        )


async def ensure_champions(
    pool: asyncpg.Pool, store: ArtifactStore, catalog: Catalog, models: ModelSet
) -> dict[str, str]:
    """Load every dataset's champion into `models`; returns dataset -> version served.
    Raises RegistrationError if a catalog bundle needed as first champion is unusable."""
    served: dict[str, str] = {}
    for name, dataset in catalog.datasets.items():
        champion = await registry.champion(pool, name)
        if champion is None and dataset.model is not None:
            check_built_for(name, dataset.model)
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
            log.warning(
                "dataset %s has no model: its items without a client prediction are "
                "dead-lettered until it has one (`mitl bootstrap %s FILE` trains a first model "
                "from labeled items; `mitl dlq replay mitl.items.ingested.v1` scores them then)",
                name,
                name,
            )
            continue
        models.serve(name, await asyncio.to_thread(models.load, champion))
        served[name] = champion.version
    return served
