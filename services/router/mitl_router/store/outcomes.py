"""Human labels joined to the decisions they verify."""

from __future__ import annotations

import json
from dataclasses import fields

import asyncpg
from mitl_policy.verdicts import Outcome


async def record(conn: asyncpg.Connection, outcome: Outcome, dataset: str) -> bool:
    """Store one outcome; False if its label event was seen before (idempotent by event id)."""
    status = await conn.execute(
        """
        INSERT INTO router.outcomes (event_id, dataset, item_id, model_version,
            predicted_label, confidence, label, source, spot_check, occurred_at,
            calibration_rate, label_confidences)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb)
        ON CONFLICT (event_id) DO NOTHING
        """,
        outcome.event_id,
        dataset,
        outcome.item_id,
        outcome.model_version,
        outcome.predicted_label,
        outcome.confidence,
        outcome.label,
        outcome.source,
        outcome.spot_check,
        outcome.occurred_at,
        outcome.calibration_rate,
        None if outcome.label_confidences is None else json.dumps(outcome.label_confidences),
    )
    return status.endswith(" 1")


# Every field of an Outcome is a column of router.outcomes by the same name.
OUTCOME_FIELDS = tuple(f.name for f in fields(Outcome))


def _outcome(row: asyncpg.Record) -> Outcome:
    values = {name: row[name] for name in OUTCOME_FIELDS}
    if isinstance(values["label_confidences"], str):  # jsonb arrives as text
        values["label_confidences"] = json.loads(values["label_confidences"])
    return Outcome(**values)


async def recent(
    conn: asyncpg.Connection, dataset: str, model_version: str | None, limit: int
) -> list[Outcome]:
    """The newest `limit` outcomes of the dataset (of one model version if given)."""
    rows = await conn.fetch(
        """
        SELECT * FROM router.outcomes
        WHERE dataset = $1 AND ($2::text IS NULL OR model_version = $2)
        ORDER BY occurred_at DESC, event_id DESC LIMIT $3
        """,
        dataset,
        model_version,
        limit,
    )
    return [_outcome(row) for row in rows]


async def of_item(conn: asyncpg.Connection, dataset: str, item_id: str) -> list[Outcome]:
    rows = await conn.fetch(
        "SELECT * FROM router.outcomes WHERE dataset = $1 AND item_id = $2",
        dataset,
        item_id,
    )
    return [_outcome(row) for row in rows]


async def spot_check_counts(
    conn: asyncpg.Connection, dataset: str, model_version: str
) -> tuple[int, int]:
    """(confirmed, answered) spot checks of the model version's auto-accepted labels."""
    row = await conn.fetchrow(
        """
        SELECT count(*) FILTER (WHERE label = predicted_label) AS confirmed, count(*) AS answered
        FROM router.outcomes WHERE dataset = $1 AND model_version = $2 AND spot_check
        """,
        dataset,
        model_version,
    )
    return int(row["confirmed"]), int(row["answered"])
