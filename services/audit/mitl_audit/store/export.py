"""Reading the labeled dataset out of Postgres for an export, a chunk at a time, and writing it
to a file. The HTTP endpoint and `mitl export` share `export_to`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from mitl_audit.core.export import Format, export_row
from mitl_audit.export_file import ExportFile
from mitl_audit.store.reports import HUMAN, window

CHUNK = 5000

# Per item: its final label in the window (the latest human label, else the latest label),
# how many human labels it had there, its content from audit.items and the decision of the
# model version the label names. $4 selects a batch (the item's, else the label's).
FINAL_LABELS = f"""
    SELECT l.dataset, l.seq, l.event_id, l.item_id, l.label, l.source, l.action, l.annotator,
           l.role, l.suggested_label, l.model_version, l.policy_version, l.guideline_version,
           l.is_override,
           l.occurred_at, l.row_hash, l.payload->>'batch_id' AS label_batch_id, l.human_labels,
           (l.payload->'labels')::text AS label_set,
           (l.payload->'suggested_labels')::text AS suggested_label_set,
           (l.payload->'spans')::text AS span_set,
           (l.payload->'suggested_spans')::text AS suggested_span_set, l.span_changes,
           i.external_id, i.batch_id, i.content::text AS content,
           d.route, d.confidence, d.spot_check
    FROM (
        SELECT DISTINCT ON (x.item_id) x.*,
               count(*) FILTER (WHERE x.source IN {HUMAN}) OVER (PARTITION BY x.item_id)
                   AS human_labels
        FROM audit.log x
        WHERE x.dataset = $1 AND x.kind = 'label' AND x.item_id IS NOT NULL AND {window("x")}
        ORDER BY x.item_id, x.source IN {HUMAN} DESC, x.occurred_at DESC, x.seq DESC
    ) l
    LEFT JOIN audit.items i ON i.dataset = l.dataset AND i.item_id = l.item_id
    LEFT JOIN LATERAL (
        SELECT y.route, y.confidence, y.payload->>'spot_check' AS spot_check
        FROM audit.log y
        WHERE y.dataset = l.dataset AND y.item_id = l.item_id AND y.kind = 'decision'
          AND y.model_version IS NOT DISTINCT FROM l.model_version
        ORDER BY y.seq DESC LIMIT 1
    ) d ON true
    WHERE $4::text IS NULL OR coalesce(i.batch_id, l.payload->>'batch_id') = $4
    ORDER BY l.item_id
"""


# How many items an export of a whole window holds (a batch needs the join: None, unknown).
LABELED_ITEMS = f"""
    SELECT count(DISTINCT x.item_id) FROM audit.log x
    WHERE x.dataset = $1 AND x.kind = 'label' AND x.item_id IS NOT NULL AND {window("x")}
"""


@dataclass(frozen=True)
class Selection:
    """Which labels an export holds: a dataset's, given in [from, to), of one batch; None is
    no bound."""

    dataset: str
    start: datetime | None = None
    end: datetime | None = None
    batch: str | None = None


async def export_rows(
    conn: asyncpg.Connection, selection: Selection, chunk: int = CHUNK
) -> AsyncIterator[list[dict[str, Any]]]:
    """The export rows of `selection`, in item id order, `chunk` at a time. Reads through a
    cursor: call inside a transaction (repeatable read gives one consistent snapshot)."""
    rows: list[dict[str, Any]] = []
    args = (selection.dataset, selection.start, selection.end, selection.batch)
    async for record in conn.cursor(FINAL_LABELS, *args, prefetch=chunk):
        rows.append(export_row(record))
        if len(rows) >= chunk:
            yield rows
            rows = []
    if rows:
        yield rows


async def items_in(conn: asyncpg.Connection, selection: Selection) -> int | None:
    """How many items the export of `selection` will hold; None (unknown) for one batch."""
    if selection.batch is not None:
        return None
    count: int = await conn.fetchval(
        LABELED_ITEMS, selection.dataset, selection.start, selection.end
    )
    return count


async def export_to(
    conn: asyncpg.Connection,
    selection: Selection,
    path: Path,
    format: Format,
    progress: Callable[[int, int | None], None] | None = None,
) -> int:
    """Write the export of `selection` to `path` atomically; return the number of items.
    Raises export_file.ExportPathError if `path` cannot be written (before reading anything
    when it is plainly unwritable). `progress(written, total)` hears after every chunk."""
    with ExportFile(path, format) as out:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            total = await items_in(conn, selection) if progress is not None else None
            async for rows in export_rows(conn, selection):
                # File writes and Parquet encoding are blocking: off the event loop.
                await asyncio.to_thread(out.write, rows)
                if progress is not None:
                    progress(out.rows, total)
    if progress is not None:
        progress(out.rows, out.rows)
    return out.rows
