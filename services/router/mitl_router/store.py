"""Router's Postgres (schema `router`): which datasets have a drift alert open."""

from __future__ import annotations

import asyncpg
from mitl_contracts.events import DriftAlert


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


async def drifting_datasets(pool: asyncpg.Pool) -> set[str]:
    rows = await pool.fetch("SELECT DISTINCT dataset FROM router.drift_alerts WHERE active")
    return {row["dataset"] for row in rows}
