"""What the platform recorded about a set of items, read straight from PostgreSQL: the audit
log (decisions and labels), the review tasks, ingest's dedup keys and the label outbox.

This reads other services' schemas on purpose: a census must not trust the services' own
answers about themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class LogRow:
    """A decision or label row of audit.log."""

    item_id: str
    kind: str
    event_id: str
    route: str | None = None
    spot_check: bool = False
    source: str | None = None
    action: str | None = None
    seq: int = 0


@dataclass(frozen=True)
class TaskRow:
    """A review task (review.tasks, kind 'review'): the queue it was requested for, the one
    it is in now, and the label event it published once done."""

    task_id: str
    item_id: str
    requested_queue: str
    queue: str
    status: str
    label_event_id: str | None = None


@dataclass(frozen=True)
class Evidence:
    log: list[LogRow]
    tasks: list[TaskRow]
    ingested: set[str]
    outbox_pending: int = 0


async def gather(database_url: str, item_ids: Sequence[str]) -> Evidence:
    ids = list(item_ids)
    conn = await asyncpg.connect(database_url)
    try:
        log = await conn.fetch(
            """
            SELECT item_id, kind, event_id, route, source, action, seq,
                   coalesce((payload->>'spot_check')::boolean, false) AS spot_check
            FROM audit.log WHERE item_id = ANY($1::text[]) AND kind IN ('decision', 'label')
            ORDER BY seq
            """,
            ids,
        )
        tasks = await conn.fetch(
            """
            SELECT task_id, item_id, requested_queue, queue, status, label_event_id
            FROM review.tasks WHERE kind = 'review' AND item_id = ANY($1::text[])
            """,
            ids,
        )
        ingested = await conn.fetch(
            "SELECT item_id FROM ingest.items WHERE published AND item_id = ANY($1::text[])", ids
        )
        pending = await conn.fetchval(
            "SELECT count(*) FROM review.outbox WHERE published_at IS NULL"
        )
    finally:
        await conn.close()
    return Evidence(
        log=[LogRow(**dict(row)) for row in log],
        tasks=[TaskRow(**dict(row)) for row in tasks],
        ingested={row["item_id"] for row in ingested},
        outbox_pending=int(pending),
    )


async def decision_times(database_url: str, item_ids: Sequence[str]) -> dict[str, float]:
    """When each item's routing decision was made (epoch seconds, the router's clock)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT item_id, min(occurred_at) AS at FROM audit.log"
            " WHERE kind = 'decision' AND item_id = ANY($1::text[]) GROUP BY item_id",
            list(item_ids),
        )
    finally:
        await conn.close()
    return {row["item_id"]: row["at"].timestamp() for row in rows}
