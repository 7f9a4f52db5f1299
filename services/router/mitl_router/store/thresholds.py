"""Learned thresholds per (dataset, model version), recomputed from the outcomes table.

Recomputation holds a per-dataset advisory lock and reads the outcomes inside it, so two
replicas recomputing at once write the same result one after the other, never a stale one.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime

import asyncpg
from mitl_contracts.datasets import Dataset
from mitl_policy.calibration import ClassThreshold, Thresholds, learn_thresholds
from mitl_policy.policy_events import learned_view
from mitl_policy.tasks import learned_labels, learning_verdicts

from mitl_router.store import outcomes

# Several labels can verify one decision; read enough rows to fill the verdict window.
ROWS_PER_VERDICT = 2


def to_state(thresholds: Thresholds) -> str:
    return json.dumps(asdict(thresholds))


def from_state(raw: str) -> Thresholds:
    data = json.loads(raw)
    classes = {name: ClassThreshold(**entry) for name, entry in data.pop("classes").items()}
    return Thresholds(classes=classes, **data)


async def recompute(
    pool: asyncpg.Pool, dataset: Dataset, model_version: str
) -> tuple[Thresholds, bool]:
    """Learn `model_version`'s thresholds from the outcomes in force for it: its own with
    new_model_start "cold", every version's (newest first) with "inherit". Also says whether
    what is accepted (thresholds, spot-check share) changed from the stored state."""
    name, policy, task, labels = dataset.name, dataset.policy, dataset.task, dataset.labels
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"router-thr-{name}")
        before = await conn.fetchval(
            "SELECT state FROM router.thresholds WHERE dataset = $1 AND model_version = $2",
            name,
            model_version,
        )
        own = model_version if policy.new_model_start == "cold" else None
        rows = await outcomes.recent(conn, name, own, policy.calibration_window * ROWS_PER_VERDICT)
        found = learning_verdicts(task, rows, labels, policy)
        learned = learn_thresholds(found, learned_labels(task, labels), policy)
        await conn.execute(
            """
            INSERT INTO router.thresholds
                (dataset, model_version, policy_version, outcomes, state, computed_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (dataset, model_version) DO UPDATE SET
                policy_version = EXCLUDED.policy_version, outcomes = EXCLUDED.outcomes,
                state = EXCLUDED.state, computed_at = EXCLUDED.computed_at
            """,
            name,
            model_version,
            policy.version,
            learned.outcomes,
            to_state(learned),
            datetime.now(UTC),
        )
    changed = before is None or learned_view(from_state(before)) != learned_view(learned)
    return learned, changed


async def current(
    pool: asyncpg.Pool, dataset: Dataset, model_version: str
) -> tuple[Thresholds, bool]:
    """The stored thresholds, or freshly learned ones for a model version seen for the first
    time or learned under another policy version (then the flag says if that changed them)."""
    row = await pool.fetchrow(
        "SELECT policy_version, state FROM router.thresholds"
        " WHERE dataset = $1 AND model_version = $2",
        dataset.name,
        model_version,
    )
    if row is not None and row["policy_version"] == dataset.policy.version:
        return from_state(row["state"]), False
    return await recompute(pool, dataset, model_version)


async def versions(pool: asyncpg.Pool, dataset: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT model_version FROM router.thresholds WHERE dataset = $1", dataset
    )
    return [row["model_version"] for row in rows]
