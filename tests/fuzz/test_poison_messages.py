"""Poison messages against the shared consumer (mitl_runtime.consumer), on the real broker and
Postgres: a record that could never be processed must not stop its consumer. Before the fixes
these tests pin, each of these records failed every redelivery of its batch for ever:
- a record faststream's JSON decoding chokes on before the handler runs (nesting deeper than
  json.loads recurses, or bad JSON under a JSON content type);
- an event PostgreSQL refuses on its data (a NUL character, which jsonb cannot hold), which
  failed the whole batch it was in.
Both now end in the dead-letter topic with the reason, and the rest of the stream flows."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from mitl_contracts.events import ItemIngested
from mitl_contracts.topics import dlq
from mitl_runtime.consumer import Received
from mitl_runtime.localinfra import create_topics
from mitl_runtime.service import ServiceRuntime
from mitl_runtime.settings import ServiceSettings

from tests.fuzz.hostile import nested
from tests.support import TopicReader, eventually

pytestmark = pytest.mark.integration
JSON = [("content-type", b"application/json")]


def item(n: int, text: str) -> bytes:
    return json.dumps(
        {
            "event_id": f"poison-{n}",
            "dataset": "trec6",
            "item_id": f"item-{n}",
            "external_id": f"ext-{n}",
            "batch_id": "b",
            "content": {"text": text},
        }
    ).encode()


@pytest.fixture
async def consumer(kafka: str, database_url: str) -> AsyncIterator[tuple[str, str]]:
    """A service consuming a fresh topic into a fresh jsonb table; yields (topic, table)."""
    run = uuid.uuid4().hex[:8]
    topic, table = f"test.poison.{run}", f"poison_{run}"
    await create_topics(kafka, [topic, dlq(topic)])
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    assert pool is not None
    await pool.execute(f"CREATE TABLE {table} (event_id text PRIMARY KEY, content jsonb)")
    settings = ServiceSettings(
        kafka_bootstrap_servers=kafka,
        database_url=database_url,
        kafka_session_timeout_ms=2000,
        kafka_heartbeat_interval_ms=300,
    )
    runtime = ServiceRuntime("poison-test", settings)

    async def store(batch: list[Received[ItemIngested]]) -> None:
        await pool.executemany(
            f"INSERT INTO {table} VALUES ($1, $2::jsonb) ON CONFLICT DO NOTHING",
            [(r.event.event_id, r.event.content.model_dump_json()) for r in batch],
        )

    runtime.subscribe(topic, ItemIngested, store, group=f"poison-test-{run}")
    async with runtime.running():
        yield topic, table
    await pool.execute(f"DROP TABLE {table}")
    await pool.close()


async def send(kafka: str, topic: str, records: list[tuple[bytes, list]]) -> list[int]:
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    try:
        # One key: one partition, so the bad records sit in the middle of the good ones' batch.
        sent = [
            await producer.send_and_wait(topic, value, key=b"k", headers=headers)
            for value, headers in records
        ]
        return [meta.offset for meta in sent]
    finally:
        await producer.stop()


async def stored(database_url: str, table: str) -> set[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return {r["event_id"] for r in await conn.fetch(f"SELECT event_id FROM {table}")}
    finally:
        await conn.close()


async def all_stored(database_url: str, table: str, expected: set[str]) -> bool:
    """Whether exactly `expected` is stored (raises if anything else is: it never leaves)."""
    now = await stored(database_url, table)
    assert now <= expected, now - expected
    return now == expected


async def dead_letters(kafka: str, topic: str, count: int) -> dict[int, dict[str, str]]:
    """offset -> headers of the first `count` dead-letter records of `topic`."""
    async with TopicReader(kafka, dlq(topic)) as reader:
        await reader.wait_for(lambda records: len(records) >= count, timeout=60)
    return {
        int(h["mitl-dlq-offset"]): h
        for h in ({k: v.decode() for k, v in r.headers} for r in reader.records)
    }


async def test_records_faststream_cannot_decode_are_dead_lettered(
    kafka: str, database_url: str, consumer: tuple[str, str]
) -> None:
    topic, table = consumer
    offsets = await send(
        kafka,
        topic,
        [
            (item(1, "Who is first ?"), JSON),
            (nested(100_000).encode(), []),
            (b"{not json", JSON),
            (nested(100_000).encode(), JSON),
            (item(2, "Who is last ?"), JSON),
        ],
    )
    found = await dead_letters(kafka, topic, 3)
    assert set(found) == set(offsets[1:4])
    assert all(h["mitl-dlq-reason"] and h["mitl-dlq-kind"] == "json" for h in found.values())
    await eventually(lambda: all_stored(database_url, table, {"poison-1", "poison-2"}))


async def test_an_event_postgres_refuses_is_dead_lettered_and_its_batch_still_stored(
    kafka: str, database_url: str, consumer: tuple[str, str]
) -> None:
    topic, table = consumer
    offsets = await send(
        kafka,
        topic,
        [(item(n, "What \u0000 ?" if n == 3 else f"Question {n} ?"), JSON) for n in range(6)],
    )
    found = await dead_letters(kafka, topic, 1)
    assert list(found) == [offsets[3]]
    headers = found[offsets[3]]
    assert headers["mitl-dlq-kind"] == "data"
    assert "cannot store" in headers["mitl-dlq-reason"]
    expected = {f"poison-{n}" for n in range(6) if n != 3}
    await eventually(lambda: all_stored(database_url, table, expected))
