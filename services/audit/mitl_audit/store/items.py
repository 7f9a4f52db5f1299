"""audit.items in Postgres: ingested items' content, written once per item."""

from __future__ import annotations

import asyncpg
from mitl_runtime import bulk

from mitl_audit.core.items import ItemRow
from mitl_audit.store.log import WRITER_ROLE

COLUMNS = {
    "dataset": "text",
    "item_id": "text",
    "event_id": "text",
    "external_id": "text",
    "batch_id": "text",
    "content": "jsonb",
    "occurred_at": "timestamptz",
    "client_id": "text",
}
INSERT = bulk.insert_sql("audit.items", COLUMNS, returning="dataset")


async def record(pool: asyncpg.Pool, rows: list[ItemRow]) -> list[str]:
    """Store the items not stored yet (the first event of an item wins); return the dataset of
    each item that was new. Replaying the same events changes nothing."""
    if not rows:
        return []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f"SET LOCAL ROLE {WRITER_ROLE}")
        inserted = await conn.fetch(
            INSERT,
            [r.dataset for r in rows],
            [r.item_id for r in rows],
            [r.event_id for r in rows],
            [r.external_id for r in rows],
            [r.batch_id for r in rows],
            [r.content for r in rows],
            [r.occurred_at for r in rows],
            [r.client_id for r in rows],
        )
    return [row["dataset"] for row in inserted]


async def content_of(pool: asyncpg.Pool, dataset: str, item_id: str) -> str | None:
    """The stored content of one item as JSON text, None if audit never saw it."""
    value = await pool.fetchval(
        "SELECT content::text FROM audit.items WHERE dataset = $1 AND item_id = $2",
        dataset,
        item_id,
    )
    return None if value is None else str(value)
