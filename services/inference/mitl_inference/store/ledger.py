"""What inference has scored (schema `registry`): exactly-once claims and the rescore window.

Scoring an item: `claim` fixes the model version that scores it (the dataset's champion at
claim time, read in the same statement), the prediction is published, then
`published` marks it done and keeps the item in the rescore window (window.py). A
redelivered item whose prediction was published is skipped; one claimed but never published
(a crash) is scored again by the version that claimed it, so it gets the same prediction id
and is never scored by two versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from mitl_contracts.events import Prediction


@dataclass(frozen=True)
class Claims:
    """`to_score`: item id -> version that must score it; `done`: already published."""

    champion: str | None
    to_score: dict[str, str]
    done: set[str]


async def claim(pool: asyncpg.Pool, dataset: str, item_ids: Sequence[str]) -> Claims:
    unique = list(dict.fromkeys(item_ids))
    # One statement, one round trip. Its snapshot is taken when it starts: a statement
    # starting after a promotion committed claims with the new champion; one already running
    # may still claim with the old one, which is why re-scoring waits for such claims to be
    # published (rescore.py). The outer SELECTs read that snapshot too, so the halves are
    # the new claims and the earlier ones; a row another replica inserts at the same moment
    # is in neither (this INSERT waits for that transaction, then does nothing). The last
    # half carries the champion even when every item was claimed before.
    rows = await pool.fetch(
        """
        WITH champion AS (
            SELECT version FROM registry.models WHERE dataset = $1 AND status = 'champion'
        ),
        input AS (SELECT unnest($2::text[]) AS item_id),
        inserted AS (
            INSERT INTO registry.scored (dataset, item_id, model_version)
            SELECT $1, input.item_id, champion.version FROM input CROSS JOIN champion
            ON CONFLICT (dataset, item_id) DO NOTHING
            RETURNING item_id, model_version, published
        )
        SELECT item_id, model_version, published FROM inserted
        UNION ALL
        SELECT s.item_id, s.model_version, s.published
        FROM registry.scored s JOIN input USING (item_id) WHERE s.dataset = $1
        UNION ALL
        SELECT NULL, version, NULL FROM champion
        """,
        dataset,
        unique,
    )
    champion = next((r["model_version"] for r in rows if r["item_id"] is None), None)
    if champion is None:
        return Claims(None, {}, set())
    rows = [r for r in rows if r["item_id"] is not None]
    missing = set(unique) - {r["item_id"] for r in rows}
    if missing:
        # Claimed by another replica in the same instant (a rebalance handed it the same
        # records); its transaction is over now, so a new snapshot shows the row. Scoring it
        # here too, with that row's version, yields the same prediction; skipping it would
        # lose the item if that replica dies before publishing.
        rows += await pool.fetch(
            "SELECT s.item_id, s.model_version, s.published FROM registry.scored s"
            " JOIN unnest($2::text[]) AS u(item_id) USING (item_id) WHERE s.dataset = $1",
            dataset,
            list(missing),
        )
    to_score = {r["item_id"]: r["model_version"] for r in rows if not r["published"]}
    return Claims(champion, to_score, {r["item_id"] for r in rows if r["published"]})


async def release(pool: asyncpg.Pool, dataset: str, item_ids: Sequence[str]) -> None:
    """Forget unpublished claims of items that were dead-lettered instead of scored."""
    await pool.execute(
        "DELETE FROM registry.scored WHERE dataset = $1 AND item_id = ANY($2::text[])"
        " AND NOT published",
        dataset,
        list(item_ids),
    )


async def published(
    pool: asyncpg.Pool, dataset: str, predictions: Sequence[Prediction], keep_recent: bool
) -> None:
    """Mark the claims of published `predictions` done; with `keep_recent`, keep the items
    (content and prediction) in the rescore window. (Joins with unnest rather than
    `= ANY(array)`: a prepared `= ANY` update of 256 ids took ~10x longer here.)"""
    ids = [p.item_id for p in predictions]
    if not keep_recent:
        await pool.execute(
            "UPDATE registry.scored s SET published = true FROM unnest($2::text[]) AS u(item_id)"
            " WHERE s.dataset = $1 AND s.item_id = u.item_id",
            dataset,
            ids,
        )
        return
    await pool.execute(
        """
        WITH done AS (
            UPDATE registry.scored s SET published = true FROM unnest($2::text[]) AS u(item_id)
            WHERE s.dataset = $1 AND s.item_id = u.item_id
        )
        INSERT INTO registry.recent
            (dataset, item_id, batch_id, content, model_version, prediction_event_id)
        SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
        ON CONFLICT (dataset, item_id) DO UPDATE SET
            batch_id = EXCLUDED.batch_id, content = EXCLUDED.content,
            model_version = EXCLUDED.model_version,
            prediction_event_id = EXCLUDED.prediction_event_id
        """,
        dataset,
        ids,
        [p.batch_id for p in predictions],
        [p.content.model_dump_json() for p in predictions],
        [p.model_version for p in predictions],
        [p.event_id for p in predictions],
    )
