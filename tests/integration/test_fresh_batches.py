"""Fresh batches on the real broker: while a slow handler works, what reaches Kafka is added to
the next batch from the fetch in flight (mitl_fresh_batch_records_total), a backlog is handled
in batches grown from what was already fetched (mitl_backlog_batch_records_total), and a
topped-up or grown batch that fails is redelivered whole: every event is handled, none
skipped. (A partition that only the top-up brought is rewound by fresh_batch.rewind; its
choice of partitions is unit-tested: here the fetch-ahead buffer holds every partition that
had records, so it seldom arises.)"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from mitl_contracts import topics
from mitl_contracts.events import ItemContent, ItemIngested
from mitl_runtime import consumer as consumer_module
from mitl_runtime.consumer import Received
from mitl_runtime.localinfra import create_topics
from mitl_runtime.metrics import BACKLOG_BATCH_RECORDS, FRESH_BATCH_RECORDS
from mitl_runtime.service import ServiceRuntime
from mitl_runtime.settings import ServiceSettings

from tests.support import eventually, publish_events

pytestmark = pytest.mark.integration

PARTITIONS = 3
EVENTS = 120


def item_events(prefix: str, count: int) -> list[ItemIngested]:
    return [
        ItemIngested(
            event_id=f"{prefix}{n}",
            dataset="trec6",
            item_id=f"item-{n}",  # keys spread over the partitions
            external_id=f"x{n}",
            batch_id="b",
            content=ItemContent(text=f"item {n}"),
        )
        for n in range(count)
    ]


def item_path_topic(monkeypatch: pytest.MonkeyPatch, name: str) -> tuple[str, str]:
    """A new topic and consumer group; top-ups and growth run on the item path only, so the
    topic joins it."""
    topic = f"test.{name}.{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(topics, "LATENCY_SENSITIVE", topics.LATENCY_SENSITIVE | {topic})
    return topic, f"{name}-{uuid.uuid4().hex[:8]}"


def topped_up(topic: str) -> float:
    return FRESH_BATCH_RECORDS.labels("fresh-test", topic)._value.get()


def test_a_stale_batch_is_topped_up_and_a_failed_one_redelivered_whole(
    kafka: str, service_env: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    topic, group = item_path_topic(monkeypatch, "fresh")
    events = item_events("e", EVENTS)

    async def scenario() -> tuple[list[str], int]:
        await create_topics(kafka, [topic], PARTITIONS)
        settings = ServiceSettings(
            **{**service_env, "kafka_auto_offset_reset": "earliest"}  # type: ignore[arg-type]
        )
        runtime = ServiceRuntime("fresh-test", settings)
        handled: list[str] = []
        failed: list[int] = []
        # What the latest top-up brought: the first batch topped up fails once.
        topped: list[int] = [0]
        top_up = consumer_module.top_up

        async def watched_top_up(consumer: Any, records: Any, room: int, wait_ms: int) -> Any:
            extra = await top_up(consumer, records, room, wait_ms)
            topped[0] = len(extra)
            return extra

        monkeypatch.setattr(consumer_module, "top_up", watched_top_up)

        async def handler(batch: list[Received[ItemIngested]]) -> None:
            # Slow: records reach the broker while a batch is handled, so batches go stale.
            await asyncio.sleep(0.15)
            if topped[0] and not failed:
                failed.append(len(batch))
                raise RuntimeError("the first topped-up batch fails once")
            handled.extend(r.event.event_id for r in batch)

        runtime.subscribe(topic, ItemIngested, handler, group=group)
        async with runtime.running():
            for start in range(0, EVENTS, 4):
                await publish_events(kafka, topic, events[start : start + 4])
                await asyncio.sleep(0.02)
            await eventually(lambda: set(handled) >= {e.event_id for e in events}, timeout=60)
        return handled, len(failed)

    handled, failures = asyncio.run(scenario())
    assert topped_up(topic) > 0
    assert failures == 1
    # Nothing skipped: the failed batch, topped-up records included, was handled again.
    assert set(handled) == {e.event_id for e in events}


def test_a_backlog_is_handled_in_grown_batches_and_a_failed_one_redelivered_whole(
    kafka: str, service_env: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    topic, group = item_path_topic(monkeypatch, "backlog")
    events = item_events("b", EVENTS * 2)

    async def scenario() -> tuple[list[str], list[int], list[int]]:
        await create_topics(kafka, [topic], PARTITIONS)
        # The whole backlog is there before the consumer starts.
        await publish_events(kafka, topic, events)
        settings = ServiceSettings(
            **{  # type: ignore[arg-type]
                **service_env,
                "kafka_auto_offset_reset": "earliest",
                "kafka_max_batch": 16,
                "kafka_backlog_batch": 64,
                "kafka_fresh_batch_wait_ms": 0,
            }
        )
        runtime = ServiceRuntime("backlog-test", settings)
        handled: list[str] = []
        sizes: list[int] = []
        failed: list[int] = []

        async def handler(batch: list[Received[ItemIngested]]) -> None:
            sizes.append(len(batch))
            if len(batch) > 16 and not failed:
                failed.append(len(batch))
                raise RuntimeError("the first grown batch fails once")
            handled.extend(r.event.event_id for r in batch)

        runtime.subscribe(topic, ItemIngested, handler, group=group)
        async with runtime.running():
            await eventually(lambda: set(handled) >= {e.event_id for e in events}, timeout=60)
        return handled, sizes, failed

    handled, sizes, failed = asyncio.run(scenario())
    grown = BACKLOG_BATCH_RECORDS.labels("backlog-test", topic)._value.get()
    assert grown > 0 and max(sizes) > 16 and max(sizes) <= 64 and len(failed) == 1
    # Nothing skipped or handled twice once the failed grown batch was redelivered whole.
    assert sorted(handled) == sorted(e.event_id for e in events)
