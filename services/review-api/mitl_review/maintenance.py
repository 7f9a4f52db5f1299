"""Background upkeep while the service runs: keep the queue-depth and outbox gauges current and
export annotator quality. (The outbox relay runs as its own task.)"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from mitl_review.annotators import assess_all
from mitl_review.context import Context
from mitl_review.core.task import QUEUES
from mitl_review.metrics import OUTBOX_PENDING, QUEUE_DEPTH
from mitl_review.store import outbox, stats

log = logging.getLogger(__name__)


async def refresh_queue_depth(context: Context) -> None:
    depths = await stats.queue_depths(context.runtime.pool)
    catalog_queues = {(name, q) for name in context.catalog.datasets for q in QUEUES}
    for dataset, queue in catalog_queues | set(depths):
        QUEUE_DEPTH.labels(dataset, queue).set(depths.get((dataset, queue), (0, 0))[0])
    OUTBOX_PENDING.set(await outbox.pending_count(context.runtime.pool))


async def refresh_quality(context: Context) -> None:
    context.quality.export(await assess_all(context.runtime.pool, context.settings))


async def run(context: Context, stop: asyncio.Event) -> None:
    """Loop until `stop` is set; a failing round is logged and the next one tries again."""
    quality_due = 0.0
    while not stop.is_set():
        try:
            await refresh_queue_depth(context)
        except Exception:  # a dashboard number must not stop the upkeep
            log.exception("refreshing the queue depth gauge failed")
        # The quality query aggregates a window of history: it runs less often.
        if time.monotonic() >= quality_due:
            quality_due = time.monotonic() + context.settings.quality_interval_seconds
            try:
                await refresh_quality(context)
            except Exception:  # as above
                log.exception("refreshing the annotator quality gauges failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), context.settings.maintenance_interval_seconds)
