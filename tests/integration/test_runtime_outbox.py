"""The runtime's outbox on real Postgres: each service's migration carries its former outbox
rows over (pending ones still pending, in order), and concurrent relays never publish a row
twice, nor mark one the broker refused."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
import pytest
from mitl_contracts import topics
from mitl_contracts.events import DriftAlert, Event, Label, ModelPromoted
from mitl_runtime import outbox
from mitl_runtime.db import migrate, migration_files
from mitl_runtime.localinfra import create_database, drop_database

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)


def label(n: int) -> Label:
    return Label(
        event_id=f"label-{n}",
        dataset="trec6",
        item_id=f"item-{n}",
        label="LOC",
        source="annotator",
        action="correct",
        annotator="ann",
        role="annotator",
        suggested_label="HUM",
        model_version="m1",
        occurred_at=NOW,
    )


def promoted(version: str, status: str, event_id: str | None = None) -> ModelPromoted:
    return ModelPromoted(
        event_id=event_id or f"trainer-trec6-{version}-{status}",
        dataset="trec6",
        occurred_at=NOW,
        model_version=version,
        status=status,  # type: ignore[arg-type]
        artifact_sha256=f"sha-{version}",
        bundle_uri=f"file:///bundles/{version}",
    )


def alert(statistic: str) -> DriftAlert:
    return DriftAlert(
        event_id=f"drift-{statistic}",
        dataset="trec6",
        occurred_at=NOW,
        model_version="m1",
        state="alert",
        statistic=statistic,
        value=0.4,
        threshold=0.2,
        window_size=100,
        reference_size=500,
    )


@asynccontextmanager
async def database(admin_url: str) -> AsyncIterator[asyncpg.Pool]:
    name = f"mitl_runtime_outbox_{uuid.uuid4().hex[:8]}"
    url = await create_database(admin_url, name)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
    assert pool is not None
    try:
        yield pool
    finally:
        await pool.close()
        await drop_database(admin_url, name)


async def migrate_until(pool: asyncpg.Pool, schema: str, package: str, before: str) -> None:
    """Apply the migrations of `package` that come before `before`, as `migrate` would."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(
            f"CREATE TABLE {schema}.schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for name, sql in migration_files(package):
            if name >= before:
                break
            await conn.execute(f"SET LOCAL search_path TO {schema}, public")
            await conn.execute(sql)
            await conn.execute(f"INSERT INTO {schema}.schema_migrations (name) VALUES ($1)", name)


async def outbox_rows(pool: asyncpg.Pool, schema: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        f"SELECT event_id, topic, key, payload, published_at IS NOT NULL AS published"
        f" FROM {schema}.outbox ORDER BY seq"
    )


async def review_rows(conn: asyncpg.Connection) -> None:
    for n, published in ((3, True), (2, False), (1, False)):
        await conn.execute(
            "INSERT INTO review.outbox (event_id, topic, payload, created_at, published_at)"
            " VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END)",
            label(n).event_id,
            topics.LABELS,
            label(n).model_dump_json(),
            NOW.replace(second=n if published else 10 - n),
            published,
        )


async def trainer_rows(conn: asyncpg.Connection) -> None:
    for event, published in (
        (promoted("m1", "champion"), True),
        (promoted("m2", "candidate"), False),
        (promoted("m2", "champion"), False),
    ):
        await conn.execute(
            "INSERT INTO trainer.outbox (event_id, body, published) VALUES ($1, $2::jsonb, $3)",
            event.event_id,
            event.model_dump_json(),
            published,
        )


async def drift_rows(conn: asyncpg.Connection) -> None:
    for event, published in ((alert("agreement"), True), (alert("confidence"), False)):
        await conn.execute(
            "INSERT INTO monitor.alerts (event_id, dataset, model_version, statistic, state,"
            " severity, body, published) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)",
            event.event_id,
            event.dataset,
            event.model_version,
            event.statistic,
            event.state,
            event.severity,
            event.model_dump_json(),
            published,
        )


async def inference_rows(conn: asyncpg.Connection) -> None:
    for version in ("m1", "m2"):
        await conn.execute(
            "INSERT INTO registry.models (dataset, version, kind, input_kind, labels,"
            " artifact_sha256, bundle_uri, manifest) VALUES ('trec6', $1, 'k', 'text',"
            " '{a,b}', $2, $3, '{}')",
            version,
            f"sha-{version}",
            f"file:///bundles/{version}",
        )
    for seq, (version, status, published) in enumerate(
        (("m1", "champion", True), ("m2", "champion", False), ("m1", "retired", False)), 1
    ):
        await conn.execute(
            "INSERT INTO registry.promotions (seq, event_id, dataset, version, status, published,"
            " occurred_at) VALUES ($1, $2, 'trec6', $3, $4, $5, $6)",
            seq,
            f"model-trec6-{version}-{status}-{seq}",
            version,
            status,
            published,
            NOW,
        )


Writer = Callable[[asyncpg.Connection], Awaitable[None]]
CONVERSIONS: dict[str, tuple[str, str, str, Writer, list[Event], list[str]]] = {
    "review": (
        "mitl_review",
        "004_runtime_outbox.sql",
        topics.LABELS,
        review_rows,
        [label(2), label(1)],
        ["label-3"],
    ),
    "trainer": (
        "mitl_trainer",
        "002_runtime_outbox.sql",
        topics.MODELS,
        trainer_rows,
        [promoted("m2", "candidate"), promoted("m2", "champion")],
        ["trainer-trec6-m1-champion"],
    ),
    "monitor": (
        "mitl_drift",
        "003_runtime_outbox.sql",
        topics.DRIFT,
        drift_rows,
        [alert("confidence")],
        ["drift-agreement"],
    ),
    "registry": (
        "mitl_inference",
        "002_runtime_outbox.sql",
        topics.MODELS,
        inference_rows,
        [
            promoted("m2", "champion", "model-trec6-m2-champion-2"),
            promoted("m1", "retired", "model-trec6-m1-retired-3"),
        ],
        [],
    ),
}


@pytest.mark.parametrize("schema", sorted(CONVERSIONS))
def test_the_migration_carries_the_former_outbox_over(database_url: str, schema: str) -> None:
    package, migration, topic, write, pending, published = CONVERSIONS[schema]

    async def scenario() -> None:
        async with database(database_url) as pool:
            await migrate_until(pool, schema, package, migration)
            async with pool.acquire() as conn:
                await write(conn)
            assert migration in await migrate(pool, schema, package)
            rows = await outbox_rows(pool, schema)
            assert [r["event_id"] for r in rows if r["published"]] == published
            left = [r for r in rows if not r["published"]]
            assert [(r["topic"], r["key"]) for r in left] == [
                (topic, outbox.key_of(e)) for e in pending
            ]
            assert [
                type(e).model_validate_json(r["payload"])
                for e, r in zip(pending, left, strict=True)
            ] == pending
            assert await outbox.pending_count(pool, schema) == len(pending)

    asyncio.run(scenario())


class Recorder:
    """A publisher that records what it was given, or refuses. With `together`, its first
    publication waits until every publisher sharing the barrier is publishing too: the relays
    then hold batches at the same time, for certain rather than by timing."""

    def __init__(self, fail: bool = False, together: asyncio.Barrier | None = None) -> None:
        self.fail = fail
        self.together = together
        self.published: list[tuple[str, str]] = []

    async def publish(self, topic: str, events: Sequence[Event]) -> None:
        if self.together is not None:
            together, self.together = self.together, None
            await asyncio.wait_for(together.wait(), timeout=30)
        if self.fail:
            raise ConnectionError("broker down")
        self.published += [(topic, e.event_id) for e in events]


def test_concurrent_relays_publish_each_row_once_in_order(database_url: str) -> None:
    async def scenario() -> None:
        async with database(database_url) as pool:
            await migrate(pool, "trainer", "mitl_trainer")
            labels = [label(n) for n in range(250)]
            alerts = [alert(f"s{n}") for n in range(50)]
            async with pool.acquire() as conn, conn.transaction():
                await outbox.add(conn, "trainer", topics.LABELS, labels)
                await outbox.add(conn, "trainer", topics.DRIFT, alerts)
                # Added again (a replayed transaction): nothing changes.
                await outbox.add(conn, "trainer", topics.LABELS, labels[:10])

            down = Recorder(fail=True)
            with pytest.raises(ConnectionError):
                await outbox.publish_pending(pool, "trainer", down, batch=40)
            assert await outbox.pending_count(pool, "trainer") == 300

            together = asyncio.Barrier(2)
            first, second = Recorder(together=together), Recorder(together=together)
            await asyncio.gather(
                outbox.publish_pending(pool, "trainer", first, batch=40),
                outbox.publish_pending(pool, "trainer", second, batch=40),
            )
            both = first.published + second.published
            assert len(both) == len(set(both)) == 300
            assert await outbox.pending_count(pool, "trainer") == 0
            # Each relay published its batches oldest first.
            order = {e.event_id: n for n, e in enumerate([*labels, *alerts])}
            for recorder in (first, second):
                for topic in (topics.LABELS, topics.DRIFT):
                    ids = [order[i] for t, i in recorder.published if t == topic]
                    assert ids == sorted(ids)
            assert await outbox.publish_pending(pool, "trainer", Recorder()) == []

    asyncio.run(scenario())


class StoredRecorder:
    """A publisher of stored rows that records the (key, JSON) pairs it was given."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str, str]] = []

    async def publish_stored(self, topic: str, records: Sequence[tuple[str, str]]) -> None:
        self.published += [(topic, key, payload) for key, payload in records]


class StoredRuntime:
    def __init__(self, pool: asyncpg.Pool, publisher: StoredRecorder) -> None:
        self.pool = pool
        self.publisher = publisher


def test_the_relay_publishes_rows_as_stored(database_url: str) -> None:
    """What the relay publishes is each event's key and JSON exactly as `publish` would send
    them (the stored serialisation), oldest first by topic, and the rows end up marked."""

    async def scenario() -> None:
        async with database(database_url) as pool:
            await migrate(pool, "trainer", "mitl_trainer")
            labels = [label(n) for n in range(7)]
            alerts = [alert(f"s{n}") for n in range(2)]
            async with pool.acquire() as conn, conn.transaction():
                await outbox.add(conn, "trainer", topics.LABELS, labels[:4])
                await outbox.add(conn, "trainer", topics.DRIFT, alerts)
                await outbox.add(conn, "trainer", topics.LABELS, labels[4:])
            recorder = StoredRecorder()
            relay = outbox.OutboxRelay(StoredRuntime(pool, recorder), "trainer", batch=4)
            assert await relay.flush() == 9
            expected = [(topics.LABELS, outbox.key_of(e), e.model_dump_json()) for e in labels]
            expected += [(topics.DRIFT, outbox.key_of(e), e.model_dump_json()) for e in alerts]
            by_topic = sorted(recorder.published, key=lambda r: r[0] != topics.LABELS)
            assert by_topic == expected
            assert await outbox.pending_count(pool, "trainer") == 0
            assert await relay.flush() == 0

    asyncio.run(scenario())
