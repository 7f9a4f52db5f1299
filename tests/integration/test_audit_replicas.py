"""Two audit replicas in one consumer group append to one log: the chain stays contiguous and
valid however their batches interleave."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from mitl_audit.app import create_app
from mitl_audit.core.chain import Row
from mitl_audit.core.entries import Entry
from mitl_audit.settings import Settings
from mitl_audit.store import log
from mitl_cli.main import main as mitl
from mitl_contracts import topics
from mitl_contracts.events import Decision, Label
from mitl_runtime.localinfra import create_database, drop_database

from tests.support import caught_up, eventually, running_app

pytestmark = pytest.mark.integration
ITEMS = 60


def history(dataset: str) -> dict[str, list[Decision | Label]]:
    at = datetime.now(UTC)
    decisions: list[Decision | Label] = []
    labels: list[Decision | Label] = []
    for n in range(ITEMS):
        item = f"item-{n}"
        decisions.append(
            Decision(
                event_id=f"decision-{dataset}-{n}",
                dataset=dataset,
                item_id=item,
                prediction_event_id=f"prediction-{n}",
                route="review",
                reason="test",
                predicted_label="A",
                confidence=0.5,
                model_version="m1",
                policy_version="p1",
                occurred_at=at,
            )
        )
        for k, value in enumerate(("A", "B")):
            labels.append(
                Label(
                    event_id=f"label-{dataset}-{n}-{k}",
                    dataset=dataset,
                    item_id=item,
                    label=value,
                    source="annotator",
                    action="confirm" if value == "A" else "correct",
                    annotator=f"annotator-{k}",
                    suggested_label="A",
                    model_version="m1",
                    occurred_at=at,
                )
            )
    return {topics.DECISIONS: decisions, topics.LABELS: labels}


async def publish_fast(kafka: str, by_topic: dict[str, list[Decision | Label]]) -> None:
    """Send everything without waiting per message, so both replicas get full batches at once."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka, linger_ms=5)
    await producer.start()
    try:
        sent = [
            await producer.send(topic, e.model_dump_json().encode(), key=e.item_id.encode())
            for topic, events in by_topic.items()
            for e in events
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def test_two_replicas_keep_the_chain_contiguous_and_valid(
    service_env: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    writers: set[int] = set()
    append = log.append

    async def noting_writer(pool: asyncpg.Pool, entries: list[Entry]) -> list[Row]:
        rows = await append(pool, entries)
        if rows:
            writers.add(id(pool))
        return rows

    monkeypatch.setattr(log, "append", noting_writer)
    run = uuid.uuid4().hex[:8]
    name = f"audit_replicas_{run}"
    url = await create_database(service_env["database_url"], name)
    env = {**service_env, "database_url": url, "kafka_max_batch": 16}
    dataset = f"replicas-{run}"
    expected = ITEMS * 3
    try:
        async with (
            running_app(create_app(Settings(**env))),
            running_app(create_app(Settings(**env))),
        ):
            await publish_fast(env["kafka_bootstrap_servers"], history(dataset))
            # And the same history again: a redelivery to either replica adds nothing.
            await publish_fast(env["kafka_bootstrap_servers"], history(dataset))
            conn = await asyncpg.connect(url)
            try:
                await eventually(
                    lambda: conn.fetchval(
                        "SELECT count(*) >= $2 FROM audit.log WHERE dataset = $1", dataset, expected
                    ),
                    timeout=45,
                )
                # The replays landed too: both groups have handled all that was published.
                await caught_up(
                    env["kafka_bootstrap_servers"],
                    f"mitl-audit.{topics.DECISIONS.removeprefix('mitl.')}",
                    f"mitl-audit.{topics.LABELS.removeprefix('mitl.')}",
                    timeout=45,
                )
                stats = await conn.fetchrow(
                    "SELECT count(*) AS n, count(DISTINCT event_id) AS events,"
                    " count(DISTINCT recorded_at) AS batches FROM audit.log WHERE dataset = $1",
                    dataset,
                )
                whole = await conn.fetchrow("SELECT count(*) AS n, max(seq) AS last FROM audit.log")
            finally:
                await conn.close()
        assert stats["n"] == stats["events"] == expected
        assert stats["batches"] > 1
        assert len(writers) == 2, "both replicas appended"
        assert whole["n"] == whole["last"]
        verified = await asyncio.to_thread(mitl, ["audit", "verify", "--database-url", url])
        assert verified == 0
    finally:
        await drop_database(service_env["database_url"], name)
