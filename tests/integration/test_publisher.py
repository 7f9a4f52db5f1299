"""The event publisher on the real broker: a publish bigger than one record batch arrives
whole, each event on the partition Kafka's default partitioner gives its key, in order."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

import pytest
from aiokafka.partitioner import DefaultPartitioner
from mitl_contracts.events import ItemContent, ItemIngested
from mitl_runtime.broker import MAX_BATCH_BYTES, event_key
from mitl_runtime.localinfra import create_topics

from tests.support import TopicReader, publish_events

pytestmark = pytest.mark.integration

PARTITIONS = 4


def test_a_publish_larger_than_a_batch_arrives_whole_and_in_order(kafka: str) -> None:
    topic = f"test.publisher.{uuid.uuid4().hex[:8]}"
    # 1,200 events of ~2 KB: ~600 KB per partition, more than one batch (MAX_BATCH_BYTES).
    # Keys repeat (60 items, 20 events each) so that order per key can be checked.
    events = [
        ItemIngested(
            event_id=f"e{n}",
            dataset="trec6",
            item_id=f"item-{n % 60}",
            external_id=f"x{n}",
            batch_id="b",
            content=ItemContent(text=f"{n} " + "x" * 2000),
        )
        for n in range(1200)
    ]
    assert sum(len(e.model_dump_json()) for e in events) / PARTITIONS > MAX_BATCH_BYTES

    async def scenario() -> None:
        await create_topics(kafka, [topic], PARTITIONS)
        await publish_events(kafka, topic, events)
        async with TopicReader(kafka, topic) as reader:
            records = await reader.wait_for(lambda r: len(r) >= len(events))
        assert len(records) == len(events)
        partitions = list(range(PARTITIONS))
        by_key: dict[bytes, list[str]] = defaultdict(list)
        for record in sorted(records, key=lambda r: (r.partition, r.offset)):
            assert record.partition == DefaultPartitioner()(record.key, partitions, partitions)
            assert dict(record.headers)["content-type"] == b"application/json"
            by_key[record.key].append(ItemIngested.model_validate_json(record.value).event_id)
        for key, ids in by_key.items():
            assert ids == [e.event_id for e in events if event_key(e) == key]

    asyncio.run(scenario())
