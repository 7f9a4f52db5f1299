"""The audit service's Postgres: appending to the chained log in schema `audit`, and reading it
back for verification and reports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TypeAlias

import asyncpg
from mitl_runtime import bulk

from mitl_audit.core import chain
from mitl_audit.core.entries import ENTRY_FIELDS, Entry, first_of_each

# One chain, one writer at a time, however many replicas: the lock is held until commit.
APPEND_LOCK = "mitl-audit-log"
WRITER_ROLE = "mitl_audit_writer"
COLUMNS = ("seq", "recorded_at", *ENTRY_FIELDS, "prev_hash", "row_hash")
TYPES = {
    "seq": "bigint",
    "occurred_at": "timestamptz",
    "recorded_at": "timestamptz",
    "payload": "jsonb",
    "is_override": "boolean",
    "confidence": "float8",
    "guideline_version": "integer",
}
INSERT = bulk.insert_sql(
    "audit.log",
    {c: TYPES.get(c, "text") for c in COLUMNS},
    on_conflict="(event_id) DO NOTHING",
    returning="seq",
)
SELECT_ROWS = f"SELECT {', '.join(COLUMNS)} FROM audit.log"


class ChainConflict(RuntimeError):
    """Rows appeared that this writer did not see under the lock: something bypassed it.
    Transient from the consumer's point of view: the batch is rolled back and redelivered."""


Db: TypeAlias = asyncpg.Pool | asyncpg.Connection


async def append(
    pool: asyncpg.Pool,
    entries: list[Entry],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[chain.Row]:
    """Append the entries whose events are not logged yet; return the rows added (in seq
    order). All or nothing; replaying the same events adds nothing."""
    if not entries:
        return []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f"SET LOCAL ROLE {WRITER_ROLE}")
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", APPEND_LOCK)
        logged = await conn.fetch(
            "SELECT event_id FROM audit.log WHERE event_id = ANY($1::text[])",
            [e.event_id for e in entries],
        )
        fresh = first_of_each(entries, {r["event_id"] for r in logged})
        if not fresh:
            return []
        rows = chain.seal(fresh, await head(conn), recorded_at=clock())
        columns = [row.columns() for row in rows]
        inserted = await conn.fetch(INSERT, *([c[name] for c in columns] for name in COLUMNS))
        if len(inserted) != len(rows):
            raise ChainConflict(f"{len(rows) - len(inserted)} of {len(rows)} rows already present")
    return rows


async def head(db: Db) -> chain.Head:
    row = await db.fetchrow("SELECT seq, row_hash FROM audit.log ORDER BY seq DESC LIMIT 1")
    return chain.Head(row["seq"], row["row_hash"]) if row else chain.Head()


async def stream_rows(conn: asyncpg.Connection, prefetch: int = 1000) -> AsyncIterator[chain.Row]:
    """Every row in seq order, read through a cursor (call inside a transaction)."""
    async for record in conn.cursor(f"{SELECT_ROWS} ORDER BY seq", prefetch=prefetch):
        yield chain.Row.from_record(record)


async def has_rows(db: Db, dataset: str) -> bool:
    return bool(
        await db.fetchval("SELECT EXISTS (SELECT 1 FROM audit.log WHERE dataset = $1)", dataset)
    )


async def overrides(db: Db, dataset: str, limit: int) -> list[asyncpg.Record]:
    """The newest override rows of `dataset`, newest first."""
    return await db.fetch(
        """
        SELECT seq, item_id, model_version, suggested_label, label, annotator, occurred_at
        FROM audit.log WHERE dataset = $1 AND is_override ORDER BY seq DESC LIMIT $2
        """,
        dataset,
        limit,
    )
