"""The trainer's Postgres (schema `trainer`): item texts, labels and champions as learned from
events. Writes are idempotent (keyed by event id, or by item for texts). An image item's
`text` is its image, base64-encoded as the events carry it, a vector item's its vector as a
JSON list (mitl_trainer.training turns them back into bytes and arrays)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import asyncpg
from mitl_contracts.events import ItemIngested, Label, ModelPromoted
from mitl_runtime import bulk

from mitl_trainer.core.training_set import LabelRow, stored_text

Db: TypeAlias = asyncpg.Pool | asyncpg.Connection

ITEM_COLUMNS = {
    "dataset": "text",
    "item_id": "text",
    "event_id": "text",
    "text": "text",
    "batch_id": "text",
    "occurred_at": "timestamptz",
}
LABEL_COLUMNS = {
    "event_id": "text",
    "dataset": "text",
    "item_id": "text",
    "label": "text",
    "source": "text",
    "annotator": "text",
    "model_version": "text",
    "occurred_at": "timestamptz",
}


def stored_content(item: ItemIngested) -> str:
    """What is kept of an item (core.training_set.stored_text)."""
    return stored_text(item.content)


async def add_items(db: Db, items: Sequence[ItemIngested]) -> None:
    sql, args = bulk.bulk_insert(
        "trainer.items",
        ITEM_COLUMNS,
        [
            (
                i.dataset,
                i.item_id,
                i.event_id,
                stored_content(i),
                i.batch_id,
                i.occurred_at,
            )
            for i in items
        ],
    )
    await db.execute(sql, *args)


async def add_labels(db: Db, labels: Sequence[Label]) -> None:
    sql, args = bulk.bulk_insert(
        "trainer.labels",
        LABEL_COLUMNS,
        [bulk.attributes(x, LABEL_COLUMNS) for x in labels],
        on_conflict="(event_id) DO NOTHING",
    )
    await db.execute(sql, *args)


async def verified_items(db: Db, dataset: str) -> int:
    """Items of `dataset` with a human label (whether or not their text is known)."""
    return int(
        await db.fetchval(
            "SELECT count(DISTINCT item_id) FROM trainer.labels"
            " WHERE dataset = $1 AND source IN ('annotator', 'expert')",
            dataset,
        )
    )


async def label_rows(db: Db, dataset: str, with_pseudo: bool) -> list[LabelRow]:
    """The labels training may use: human ones, and the model's when `with_pseudo`."""
    sources = ["annotator", "expert", *(["model"] if with_pseudo else [])]
    records = await db.fetch(
        "SELECT item_id, label, source, occurred_at, seq FROM trainer.labels"
        " WHERE dataset = $1 AND source = ANY($2::text[])",
        dataset,
        sources,
    )
    return [LabelRow(**dict(r)) for r in records]


async def texts(db: Db, dataset: str, item_ids: Sequence[str]) -> dict[str, str]:
    records = await db.fetch(
        "SELECT item_id, text FROM trainer.items WHERE dataset = $1 AND item_id = ANY($2::text[])",
        dataset,
        list(item_ids),
    )
    return {r["item_id"]: r["text"] for r in records}


async def record_champions(db: Db, events: Sequence[ModelPromoted]) -> None:
    """Remember each dataset's newest champion announcement."""
    for event in events:
        await db.execute(
            """
            INSERT INTO trainer.champions AS c
                (dataset, model_version, bundle_uri, artifact_sha256, event_id, occurred_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (dataset) DO UPDATE SET
                model_version = EXCLUDED.model_version, bundle_uri = EXCLUDED.bundle_uri,
                artifact_sha256 = EXCLUDED.artifact_sha256, event_id = EXCLUDED.event_id,
                occurred_at = EXCLUDED.occurred_at
            WHERE c.occurred_at <= EXCLUDED.occurred_at
            """,
            event.dataset,
            event.model_version,
            event.bundle_uri,
            event.artifact_sha256,
            event.event_id,
            event.occurred_at,
        )


async def champion(db: Db, dataset: str) -> asyncpg.Record | None:
    return await db.fetchrow("SELECT * FROM trainer.champions WHERE dataset = $1", dataset)
