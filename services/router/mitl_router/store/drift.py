"""Open drift alerts per dataset and segment, so that every replica tightens the same policy."""

from __future__ import annotations

import asyncpg
from mitl_contracts.events import DriftAlert

from mitl_router.core import DriftState


async def record_drift(pool: asyncpg.Pool, alerts: list[DriftAlert]) -> None:
    """Apply alerts in time order; an older event never overwrites a newer state."""
    for alert in sorted(alerts, key=lambda a: a.occurred_at):
        await pool.execute(
            """
            INSERT INTO router.drift_alerts
                (dataset, statistic, segment, active, last_event_id, occurred_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (dataset, statistic, segment) DO UPDATE
                SET active = EXCLUDED.active, last_event_id = EXCLUDED.last_event_id,
                    occurred_at = EXCLUDED.occurred_at
                WHERE router.drift_alerts.occurred_at <= EXCLUDED.occurred_at
            """,
            alert.dataset,
            alert.statistic,
            alert.segment,
            alert.state == "alert",
            alert.event_id,
            alert.occurred_at,
        )


async def drift_state(pool: asyncpg.Pool) -> DriftState:
    rows = await pool.fetch("SELECT dataset, segment FROM router.drift_alerts WHERE active")
    segments: dict[str, set[str]] = {}
    for row in rows:
        segments.setdefault(row["dataset"], set()).add(row["segment"])
    return DriftState(
        frozenset(segments), {name: frozenset(found) for name, found in segments.items()}
    )
