"""Ingest's dedup keys as an outbox, on real Postgres: a claimed item stays claimable until
it is marked published, and marking finds rows by their key (dataset, external_id)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
from mitl_contracts.events import ItemContent, ItemIngested
from mitl_ingest import store
from mitl_runtime.db import migrate
from mitl_runtime.localinfra import create_database, drop_database


def item(dataset: str, n: int) -> ItemIngested:
    return ItemIngested(
        event_id=f"ingested-{dataset}-{n}",
        dataset=dataset,
        item_id=f"{dataset}-{n:030d}",
        external_id=f"x{n}",
        batch_id="b",
        content=ItemContent(text=f"item {n}"),
        occurred_at=datetime.now(UTC),
    )


def test_claim_publish_and_reclaim(database_url: str) -> None:
    async def scenario() -> None:
        name = f"mitl_outbox_{uuid.uuid4().hex[:8]}"
        url = await create_database(database_url, name)
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        assert pool is not None
        try:
            await migrate(pool, "ingest", "mitl_ingest")
            first = [item("trec6", n) for n in range(600)]
            # The same external ids in another dataset are other items.
            other = [item("sms_spam", n) for n in range(600)]
            assert await store.claim(pool, first) == {i.item_id for i in first}
            assert await store.claim(pool, other) == {i.item_id for i in other}
            await store.mark_published(pool, first[:400])
            await store.mark_published(pool, [])
            # A redelivery: published items are duplicates, unpublished ones are claimed again
            # (a crash between claim and publish loses nothing).
            again = await store.claim(pool, first)
            assert again == {i.item_id for i in first[400:]}
            published = await pool.fetch(
                "SELECT dataset, count(*) FILTER (WHERE published) AS n FROM ingest.items"
                " GROUP BY dataset ORDER BY dataset"
            )
            assert [(r["dataset"], r["n"]) for r in published] == [("sms_spam", 0), ("trec6", 400)]
        finally:
            await pool.close()
            await drop_database(database_url, name)

    asyncio.run(scenario())
