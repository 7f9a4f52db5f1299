"""The label outbox in Postgres: rows are written with the effect they report, in its
transaction, and marked once the broker has them."""

from __future__ import annotations

import asyncpg
from mitl_contracts.events import Event


async def add(conn: asyncpg.Connection, topic: str, event: Event) -> None:
    await conn.execute(
        """
        INSERT INTO review.outbox (event_id, topic, payload) VALUES ($1, $2, $3)
        ON CONFLICT (event_id) DO NOTHING
        """,
        event.event_id,
        topic,
        event.model_dump_json(),
    )


async def lock_pending(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """Up to `limit` unpublished rows, oldest first, locked so that a concurrent relay (another
    request or replica) skips them instead of publishing them twice."""
    return await conn.fetch(
        """
        SELECT event_id, topic, payload FROM review.outbox
        WHERE published_at IS NULL
        ORDER BY created_at, event_id
        LIMIT $1
        FOR UPDATE SKIP LOCKED
        """,
        limit,
    )


async def mark_published(conn: asyncpg.Connection, event_ids: list[str]) -> None:
    await conn.execute(
        "UPDATE review.outbox SET published_at = now() WHERE event_id = ANY($1::text[])", event_ids
    )


async def pending_count(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM review.outbox WHERE published_at IS NULL"))
