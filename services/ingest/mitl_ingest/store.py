"""Ingest's Postgres: the dedup keys in schema `ingest`."""

from __future__ import annotations

import asyncpg
from mitl_contracts.events import ItemIngested
from mitl_runtime import bulk

COLUMNS = {
    "dataset": "text",
    "external_id": "text",
    "item_id": "text",
    "batch_id": "text",
    "client_id": "text",
}
# A row left unpublished is claimed again (the no-op update makes RETURNING give it).
CLAIM = bulk.insert_sql(
    "ingest.items",
    COLUMNS,
    on_conflict="(dataset, external_id) DO UPDATE SET batch_id = ingest.items.batch_id"
    " WHERE ingest.items.published = false",
    returning="item_id",
)


async def claim(pool: asyncpg.Pool, items: list[ItemIngested]) -> set[str]:
    """Record `items`; return the item ids that are new (or were never published)."""
    if not items:
        return set()
    rows = await pool.fetch(
        CLAIM,
        *bulk.columns(
            ((i.dataset, i.external_id, i.item_id, i.batch_id, i.client_id) for i in items),
            len(COLUMNS),
        ),
    )
    return {row["item_id"] for row in rows}


async def mark_published(pool: asyncpg.Pool, items: list[ItemIngested]) -> None:
    """Found by the primary key: item_id has no index, and matching it scanned the whole
    table once per batch (quadratic in the items ever ingested)."""
    if not items:
        return
    await pool.execute(
        """
        UPDATE ingest.items i SET published = true
        FROM unnest($1::text[], $2::text[]) AS u(dataset, external_id)
        WHERE i.dataset = u.dataset AND i.external_id = u.external_id
        """,
        [i.dataset for i in items],
        [i.external_id for i in items],
    )
