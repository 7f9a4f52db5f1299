"""Reading the access rows of the chained log (kind 'access'), newest first."""

from __future__ import annotations

import asyncpg

from mitl_audit.core.access_view import AccessRow, access_row


async def rows(
    db: asyncpg.Pool | asyncpg.Connection,
    limit: int,
    before_seq: int | None = None,
    action: str | None = None,
    subject: str | None = None,
) -> list[AccessRow]:
    """At most `limit` access rows with seq < before_seq, of `action` (exactly, or every
    action starting with it and a dot: `user` for user.*), about `subject` (an AccessChanged
    event's subject, or an export's dataset)."""
    records = await db.fetch(
        """
        SELECT seq, occurred_at, recorded_at, dataset, action, payload::text AS payload, row_hash
        FROM audit.log
        WHERE kind = 'access'
          AND ($2::bigint IS NULL OR seq < $2)
          AND ($3::text IS NULL OR action = $3 OR starts_with(action, $3 || '.'))
          AND ($4::text IS NULL OR payload ->> 'subject' = $4
               OR (payload ->> 'subject' IS NULL AND dataset = $4))
        ORDER BY seq DESC
        LIMIT $1
        """,
        limit,
        before_seq,
        action,
        subject,
    )
    return [
        access_row(
            r["seq"],
            r["occurred_at"],
            r["recorded_at"],
            r["dataset"],
            r["action"],
            r["payload"],
            r["row_hash"],
        )
        for r in records
    ]
