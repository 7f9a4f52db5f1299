"""Counts for people and dashboards: queue depths and one person's progress."""

from __future__ import annotations

import asyncpg

# Open rows only, so the partial index on open tasks serves it however much history there is.
# Gold tasks are people's private checks, not work waiting in a queue.
DEPTHS = """
SELECT dataset, queue,
    count(*) FILTER (WHERE lease_expires_at IS NULL OR lease_expires_at <= now()) AS depth,
    count(*) FILTER (WHERE lease_expires_at > now()) AS leased
FROM review.tasks WHERE status = 'open' AND kind = 'review'
GROUP BY dataset, queue
"""

# "Today" is the UTC day, the same for every replica and every person. A gold answer counts as
# a correction: there was no model suggestion to agree with.
PROGRESS = """
WITH today AS (SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start)
SELECT
    (SELECT count(*) FROM review.tasks WHERE status = 'done' AND completed_by = $1) AS done_total,
    count(*) AS done_today,
    count(*) FILTER (WHERE kind = 'review' AND label = suggested_label) AS confirmations,
    count(*) FILTER (WHERE kind = 'gold' OR label <> suggested_label) AS corrections,
    (SELECT count(*) FROM review.tasks, today
     WHERE escalated_by = $1 AND escalated_at >= today.start) AS escalations
FROM review.tasks, today
WHERE status = 'done' AND completed_by = $1 AND completed_at >= today.start
"""


async def queue_depths(pool: asyncpg.Pool) -> dict[tuple[str, str], tuple[int, int]]:
    """(dataset, queue) -> (claimable tasks, tasks under a live lease), for every queue that
    has open tasks."""
    rows = await pool.fetch(DEPTHS)
    return {(r["dataset"], r["queue"]): (r["depth"], r["leased"]) for r in rows}


async def progress(pool: asyncpg.Pool, user: str) -> dict[str, int]:
    row = await pool.fetchrow(PROGRESS, user)
    assert row is not None  # an aggregate without GROUP BY always yields one row
    return {key: int(value) for key, value in row.items()}
