"""The near-duplicate window: signatures of the last queued texts per dataset."""

from __future__ import annotations

import asyncpg
import numpy as np
from mitl_policy.diversity import RecentSignatures


async def window(conn: asyncpg.Connection, dataset: str, capacity: int) -> RecentSignatures:
    rows = await conn.fetch(
        "SELECT item_id, signature FROM router.queued_signatures WHERE dataset = $1"
        " ORDER BY seq DESC LIMIT $2",
        dataset,
        capacity,
    )
    entries = [(r["item_id"], np.array(r["signature"], dtype=np.int64)) for r in reversed(rows)]
    return RecentSignatures(capacity, entries)


async def append(
    conn: asyncpg.Connection, dataset: str, added: list[tuple[str, np.ndarray]], capacity: int
) -> None:
    """Add queued items' signatures and trim the dataset's window to `capacity`."""
    if not added:
        return
    await conn.executemany(
        "INSERT INTO router.queued_signatures (dataset, item_id, signature) VALUES ($1, $2, $3)",
        [(dataset, item_id, [int(v) for v in sig]) for item_id, sig in added],
    )
    await conn.execute(
        """
        DELETE FROM router.queued_signatures WHERE dataset = $1 AND seq <= (
            SELECT seq FROM router.queued_signatures WHERE dataset = $1
            ORDER BY seq DESC OFFSET $2 LIMIT 1)
        """,
        dataset,
        capacity,
    )
