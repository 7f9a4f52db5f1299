"""The alert outbox (table monitor.alerts): DriftAlert events are written in the transaction
that changed the alert state and published once it commits, so a crash in between delays an
alert but never loses it; deterministic event ids make a second publication harmless."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from mitl_contracts.events import DriftAlert


async def queue_alerts(conn: asyncpg.Connection, alerts: Sequence[DriftAlert]) -> None:
    if not alerts:
        return
    await conn.execute(
        """
        INSERT INTO monitor.alerts
            (event_id, dataset, model_version, statistic, state, severity, body)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
            $6::text[], $7::jsonb[])
        ON CONFLICT (event_id) DO NOTHING
        """,
        [a.event_id for a in alerts],
        [a.dataset for a in alerts],
        [a.model_version for a in alerts],
        [a.statistic for a in alerts],
        [a.state for a in alerts],
        [a.severity for a in alerts],
        [a.model_dump_json() for a in alerts],
    )


async def lock_unpublished(conn: asyncpg.Connection, limit: int) -> list[DriftAlert]:
    """The oldest unpublished alerts, locked for this transaction (other replicas skip them)."""
    rows = await conn.fetch(
        "SELECT body::text AS body FROM monitor.alerts WHERE NOT published"
        " ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit,
    )
    return [DriftAlert.model_validate_json(row["body"]) for row in rows]


async def mark_published(conn: asyncpg.Connection, event_ids: Sequence[str]) -> None:
    await conn.execute(
        "UPDATE monitor.alerts SET published = true WHERE event_id = ANY($1::text[])",
        list(event_ids),
    )
