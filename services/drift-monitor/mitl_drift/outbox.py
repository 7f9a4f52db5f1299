"""DriftAlert events go through the runtime's outbox (table monitor.outbox): they are written in
the transaction that changed the alert state and published once it commits, so a crash in
between delays an alert but never loses it; deterministic event ids make a second publication
harmless."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from mitl_contracts import topics
from mitl_contracts.events import DriftAlert
from mitl_runtime import outbox
from mitl_runtime.service import ServiceRuntime

SCHEMA = "monitor"


async def queue_alerts(conn: asyncpg.Connection, alerts: Sequence[DriftAlert]) -> None:
    await outbox.add(conn, SCHEMA, topics.DRIFT, alerts)


async def publish_pending(runtime: ServiceRuntime, batch: int) -> int:
    """Publish queued alerts, oldest first, and mark them published once acknowledged."""
    return len(await outbox.publish_pending(runtime.pool, SCHEMA, runtime.publisher, batch))
