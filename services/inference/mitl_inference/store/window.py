"""The rescore window (schema `registry`, table `recent`): recently predicted items with
their content and latest platform prediction, and whether a label arrived for them.

`ledger.published` adds items as their predictions are published; labels mark them; after a
promotion, `stale` gives the unlabeled ones an older version predicted, and `rescored` records
their new predictions. `prune` keeps the newest N per dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from mitl_contracts.events import ItemContent, Prediction
from mitl_runtime import bulk
from mitl_runtime.db import from_row


@dataclass(frozen=True)
class RecentItem:
    """An item in the rescore window with its latest platform prediction."""

    dataset: str
    item_id: str
    batch_id: str
    content: ItemContent
    model_version: str | None
    prediction_event_id: str | None


async def rescored(pool: asyncpg.Pool, dataset: str, predictions: Sequence[Prediction]) -> None:
    """Record that the rescore window's items now carry these newer predictions."""
    await pool.execute(
        """
        UPDATE registry.recent r SET model_version = u.version, prediction_event_id = u.event_id
        FROM unnest($2::text[], $3::text[], $4::text[]) AS u(item_id, version, event_id)
        WHERE r.dataset = $1 AND r.item_id = u.item_id
        """,
        dataset,
        [p.item_id for p in predictions],
        [p.model_version for p in predictions],
        [p.event_id for p in predictions],
    )


async def labeled(pool: asyncpg.Pool, items: Sequence[tuple[str, str]]) -> None:
    """Note that (dataset, item_id) pairs have a label: they are never re-scored."""
    sql, args = bulk.bulk_insert(
        "registry.recent",
        {"dataset": "text", "item_id": "text", "labeled": "bool"},
        [(dataset, item_id, True) for dataset, item_id in dict.fromkeys(items)],
        on_conflict="(dataset, item_id) DO UPDATE SET labeled = true",
    )
    await pool.execute(sql, *args)


async def undrained(pool: asyncpg.Pool, dataset: str, version: str) -> int:
    """Claims by versions other than `version` whose predictions are not yet published."""
    count = await pool.fetchval(
        "SELECT count(*) FROM registry.scored"
        " WHERE dataset = $1 AND NOT published AND model_version <> $2",
        dataset,
        version,
    )
    return int(count)


async def stale(pool: asyncpg.Pool, dataset: str, version: str, window: int) -> list[RecentItem]:
    """Unlabeled items among the newest `window` of the dataset whose latest prediction is
    not from `version`, oldest first."""
    rows = await pool.fetch(
        """
        SELECT * FROM (
            SELECT * FROM registry.recent WHERE dataset = $1 ORDER BY seq DESC LIMIT $3
        ) newest
        WHERE NOT labeled AND content IS NOT NULL AND model_version IS DISTINCT FROM $2
        ORDER BY seq
        """,
        dataset,
        version,
        window,
    )
    return [
        from_row(RecentItem, row, content=ItemContent.model_validate_json(row["content"]))
        for row in rows
    ]


async def prune(pool: asyncpg.Pool, dataset: str, window: int) -> None:
    """Keep only the newest `window` items of the dataset in the rescore window."""
    await pool.execute(
        """
        DELETE FROM registry.recent WHERE dataset = $1 AND seq <= (
            SELECT seq FROM registry.recent WHERE dataset = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1
        )
        """,
        dataset,
        window,
    )
