"""Background upkeep while the service runs: publish what the outbox still holds (so an event
left behind by a crash goes out at start-up) and keep the queue-depth gauge current."""

from __future__ import annotations

import asyncio
import logging

from mitl_review.context import Context
from mitl_review.core.task import QUEUES
from mitl_review.metrics import QUEUE_DEPTH
from mitl_review.store import stats

log = logging.getLogger(__name__)


async def refresh_queue_depth(context: Context) -> None:
    depths = await stats.queue_depths(context.pool)
    catalog_queues = {(name, q) for name in context.catalog.datasets for q in QUEUES}
    for dataset, queue in catalog_queues | set(depths):
        QUEUE_DEPTH.labels(dataset, queue).set(depths.get((dataset, queue), (0, 0))[0])


async def run(context: Context) -> None:
    """Loop until cancelled; a failing round is logged and the next one tries again."""
    while True:
        await context.relay.try_flush()
        try:
            await refresh_queue_depth(context)
        except Exception:  # a dashboard number must not stop the relay
            log.exception("refreshing the queue depth gauge failed")
        await asyncio.sleep(context.settings.maintenance_interval_seconds)
