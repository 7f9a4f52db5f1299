"""The outbox relay: publishes what submissions wrote to the outbox, then marks it published.

One relay task runs per process. A submission wakes it after its commit instead of publishing
itself, so an HTTP answer never waits for the broker, and the labels of many concurrent
submissions go out in one batch. It also flushes at start-up and every `idle_seconds`, so an
event left unpublished by a crash (or a broker outage) goes out on the next occasion;
consumers dedupe by event_id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

from mitl_contracts.events import TOPIC_EVENTS, Event
from mitl_runtime.service import ServiceRuntime

from mitl_review.store import outbox

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(self, runtime: ServiceRuntime, batch: int) -> None:
        self.runtime = runtime
        self.batch = batch
        self.wakeup = asyncio.Event()
        self.stopping = False

    def wake(self) -> None:
        """Something was committed to the outbox: publish it soon."""
        self.wakeup.set()

    async def flush_once(self) -> int:
        """Publish one batch of pending events; returns how many. The rows stay locked while
        they are published, and are marked only once the broker acknowledged them all."""
        async with self.runtime.pool.acquire() as conn, conn.transaction():
            rows = await outbox.lock_pending(conn, self.batch)
            if not rows:
                return 0
            by_topic: dict[str, list[Event]] = defaultdict(list)
            for row in rows:
                event_type = TOPIC_EVENTS[row["topic"]]
                by_topic[row["topic"]].append(event_type.model_validate_json(row["payload"]))
            for topic, events in by_topic.items():
                await self.runtime.publish(topic, events)
            await outbox.mark_published(conn, [row["event_id"] for row in rows])
        return len(rows)

    async def flush(self) -> int:
        """Publish everything pending now; returns how many were published."""
        total = 0
        while (published := await self.flush_once()) > 0:
            total += published
            if published < self.batch:
                break
        return total

    async def try_flush(self) -> None:
        """Flush, logging a failure instead of raising: the event is durable in the outbox and
        the next flush publishes it."""
        try:
            await self.flush()
        except Exception:  # any failure leaves rows pending, which is the safe state
            log.exception("publishing the label outbox failed; it will be retried")

    def stop(self) -> None:
        """Finish the flush under way, publish what is pending, and return from `run`. (Not a
        cancellation: a query cancelled just as it completes can leave an asyncpg connection
        waiting forever.)"""
        self.stopping = True
        self.wakeup.set()

    async def run(self, idle_seconds: float) -> None:
        """Flush now, then whenever woken or after `idle_seconds`, until stopped."""
        while True:
            # Cleared before flushing: a wake-up during the flush means another round.
            self.wakeup.clear()
            await self.try_flush()
            if self.stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), idle_seconds)
