"""The ModelPromoted outbox (table trainer.outbox): events are written in the transaction that
records the model and published once it commits; deterministic event ids make a second
publication harmless (inference applies each event id once)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from mitl_contracts import topics
from mitl_contracts.events import Event, ModelPromoted
from mitl_runtime.service import ServiceRuntime

PUBLISH_BATCH = 100


async def queue(conn: asyncpg.Connection, events: Sequence[ModelPromoted]) -> None:
    """Queue `events` in order (the candidate before its promotion)."""
    for event in events:
        await conn.execute(
            "INSERT INTO trainer.outbox (event_id, body) VALUES ($1, $2::jsonb)"
            " ON CONFLICT (event_id) DO NOTHING",
            event.event_id,
            event.model_dump_json(),
        )


async def publish_pending(runtime: ServiceRuntime) -> int:
    """Publish queued events oldest first; mark them published once acknowledged."""
    published = 0
    while True:
        async with runtime.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT event_id, body::text AS body FROM trainer.outbox WHERE NOT published"
                " ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
                PUBLISH_BATCH,
            )
            if not rows:
                return published
            events = [ModelPromoted.model_validate_json(r["body"]) for r in rows]
            await runtime.publish(topics.MODELS, list[Event](events))
            await conn.execute(
                "UPDATE trainer.outbox SET published = true WHERE event_id = ANY($1::text[])",
                [r["event_id"] for r in rows],
            )
            published += len(rows)
        if len(rows) < PUBLISH_BATCH:
            return published
