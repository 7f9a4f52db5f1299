"""The label outbox in Postgres (the runtime's outbox, table review.outbox): rows are written
with the effect they report, in its transaction, and marked once the broker has them."""

from __future__ import annotations

import asyncpg
from mitl_contracts.events import Event
from mitl_runtime import outbox

SCHEMA = "review"


async def add(conn: asyncpg.Connection, topic: str, event: Event) -> None:
    await outbox.add(conn, SCHEMA, topic, [event])


async def pending_count(pool: asyncpg.Pool) -> int:
    return await outbox.pending_count(pool, SCHEMA)
