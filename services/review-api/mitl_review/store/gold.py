"""Gold items and gold tasks in Postgres."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from mitl_contracts.events import ItemContent
from mitl_runtime import bulk

from mitl_review.core.gold import GoldItem
from mitl_review.core.leases import NO_OFFSET
from mitl_review.core.task import Task
from mitl_review.store.rows import INSERT_COLUMNS, INSERT_PLACEHOLDERS, task_from_row, task_values

GOLD_COLUMNS = {
    "gold_id": "text",
    "dataset": "text",
    "external_id": "text",
    "content": "jsonb",
    "label": "text",
}


@dataclass(frozen=True)
class Stored:
    created: int
    updated: int
    unchanged: int


async def upsert(conn: asyncpg.Connection, items: list[GoldItem]) -> Stored:
    """Store `items` in one statement: new ones are added, changed ones (content or known
    label) replaced, identical ones left alone, so uploading a file twice changes nothing."""
    sql, args = bulk.bulk_insert(
        "review.gold AS g",
        GOLD_COLUMNS,
        [
            (i.gold_id, i.dataset, i.external_id, i.content.model_dump_json(), i.label)
            for i in items
        ],
        on_conflict="(gold_id) DO UPDATE"
        " SET content = EXCLUDED.content, label = EXCLUDED.label, updated_at = now()"
        " WHERE (g.content, g.label) IS DISTINCT FROM (EXCLUDED.content, EXCLUDED.label)",
        returning="(xmax = 0) AS created",
    )
    rows = await conn.fetch(sql, *args)
    created = sum(1 for r in rows if r["created"])
    return Stored(created, len(rows) - created, len(items) - len(rows))


def item_from_row(row: asyncpg.Record) -> GoldItem:
    return GoldItem(
        gold_id=row["gold_id"],
        dataset=row["dataset"],
        external_id=row["external_id"],
        content=ItemContent.model_validate_json(row["content"]),
        label=row["label"],
    )


async def count(db: asyncpg.Pool | asyncpg.Connection, dataset: str) -> int:
    return int(await db.fetchval("SELECT count(*) FROM review.gold WHERE dataset = $1", dataset))


async def listing(pool: asyncpg.Pool, dataset: str, limit: int) -> tuple[int, list[GoldItem]]:
    """How many gold items `dataset` has, and the first `limit` by external id."""
    total = await count(pool, dataset)
    rows = await pool.fetch(
        "SELECT * FROM review.gold WHERE dataset = $1 ORDER BY external_id LIMIT $2",
        dataset,
        limit,
    )
    return total, [item_from_row(r) for r in rows]


async def next_for(
    conn: asyncpg.Connection, user: str, dataset: str
) -> tuple[GoldItem, datetime] | None:
    """The gold item `user` should get next, with the database's clock: one they have not
    answered, escalated or skipped (a gold task they abandoned by letting its lease lapse is
    served again), in an order that is a stable shuffle per person."""
    row = await conn.fetchrow(
        """
        SELECT g.*, now() AS db_now FROM review.gold AS g
        WHERE g.dataset = $1 AND NOT EXISTS (
            SELECT 1 FROM review.tasks AS t
            WHERE t.kind = 'gold' AND t.assignee = $2 AND t.gold_id = g.gold_id
              AND (t.status = 'done' OR t.escalated_by IS NOT NULL
                   OR cardinality(t.skipped_by) > 0))
        ORDER BY md5(g.gold_id || $2) LIMIT 1
        """,
        dataset,
        user,
    )
    return (item_from_row(row), row["db_now"]) if row else None


async def lease(
    conn: asyncpg.Connection, task: Task, lease_seconds: float, offset: timedelta = NO_OFFSET
) -> Task:
    """Create `task` (a gold task) leased to its assignee, or lease it to them again, until
    `lease_seconds` after the database's clock moved by `offset` (core.leases.LeaseClock)."""
    n = len(task_values(task))
    row = await conn.fetchrow(
        f"""
        INSERT INTO review.tasks ({INSERT_COLUMNS}, lease_holder, lease_expires_at)
        VALUES ({INSERT_PLACEHOLDERS}, ${n + 1},
                now() + ${n + 3}::interval + make_interval(secs => ${n + 2}))
        ON CONFLICT (task_id) DO UPDATE SET
            queue = EXCLUDED.queue, requested_queue = EXCLUDED.requested_queue,
            lease_holder = EXCLUDED.lease_holder, lease_expires_at = EXCLUDED.lease_expires_at
        RETURNING *
        """,
        *task_values(task),
        task.assignee,
        float(lease_seconds),
        offset,
    )
    assert row is not None  # an upsert with RETURNING always yields its row
    return task_from_row(row)
