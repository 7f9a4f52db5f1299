"""The trainer's ModelPromoted events go through the runtime's outbox (table trainer.outbox):
they are written in the transaction that records the model and published once it commits;
deterministic event ids make a second publication harmless (inference applies each event id
once)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from mitl_contracts import topics
from mitl_contracts.events import ModelPromoted
from mitl_runtime import outbox
from mitl_runtime.service import ServiceRuntime

SCHEMA = "trainer"
PUBLISH_BATCH = 100


async def queue(conn: asyncpg.Connection, events: Sequence[ModelPromoted]) -> None:
    """Queue `events` in order (the candidate before its promotion)."""
    await outbox.add(conn, SCHEMA, topics.MODELS, events)


async def publish_pending(runtime: ServiceRuntime) -> int:
    """Publish queued events oldest first; mark them published once acknowledged."""
    published = await outbox.publish_pending(runtime.pool, SCHEMA, runtime.publisher, PUBLISH_BATCH)
    return len(published)
