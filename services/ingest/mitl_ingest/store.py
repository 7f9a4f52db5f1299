"""Ingest's Postgres: the dedup keys in schema `ingest`."""

from __future__ import annotations

import asyncpg
from mitl_contracts.events import ItemIngested


async def claim(pool: asyncpg.Pool, items: list[ItemIngested]) -> set[str]:
    """Record `items`; return the item ids that are new (or were never published)."""
    if not items:
        return set()
    rows = await pool.fetch(
        """
        INSERT INTO ingest.items (dataset, external_id, item_id, batch_id)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
        ON CONFLICT (dataset, external_id) DO UPDATE SET batch_id = ingest.items.batch_id
            WHERE ingest.items.published = false
        RETURNING item_id
        """,
        [i.dataset for i in items],
        [i.external_id for i in items],
        [i.item_id for i in items],
        [i.batch_id for i in items],
    )
    return {row["item_id"] for row in rows}


async def mark_published(pool: asyncpg.Pool, item_ids: list[str]) -> None:
    await pool.execute(
        "UPDATE ingest.items SET published = true WHERE item_id = ANY($1::text[])", item_ids
    )
