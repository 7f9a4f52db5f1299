"""Two members of one consumer group in one process (ServiceRuntime.subscribe(consumers=2), as
inference consumes its items) on the real broker: they share the topic's partitions, their
handlers run at the same time (one waits while the other works), and every event is handled
exactly once, none skipped, none twice."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from mitl_contracts.events import ItemContent, ItemIngested
from mitl_runtime.consumer import Received
from mitl_runtime.localinfra import create_topics
from mitl_runtime.service import ServiceRuntime
from mitl_runtime.settings import ServiceSettings

from tests.support import eventually, publish_events

pytestmark = pytest.mark.integration

PARTITIONS = 4
EVENTS = 200


def test_two_members_share_the_partitions_and_handle_each_event_once(
    kafka: str, service_env: dict[str, object]
) -> None:
    topic = f"test.members.{uuid.uuid4().hex[:8]}"
    group = f"members-{uuid.uuid4().hex[:8]}"
    events = [
        ItemIngested(
            event_id=f"e{n}",
            dataset="trec6",
            item_id=f"item-{n}",  # keys spread over the partitions
            external_id=f"x{n}",
            batch_id="b",
            content=ItemContent(text=f"item {n}"),
        )
        for n in range(EVENTS)
    ]

    async def scenario() -> tuple[list[str], list[tuple[set[int], set[int]]]]:
        await create_topics(kafka, [topic], PARTITIONS)
        settings = ServiceSettings(
            **{**service_env, "kafka_auto_offset_reset": "earliest"}  # type: ignore[arg-type]
        )
        runtime = ServiceRuntime("members-test", settings)
        handled: list[str] = []
        in_flight: list[set[int]] = []  # the partitions of each batch being handled
        # The partitions of two batches handled at the same time.
        overlaps: list[tuple[set[int], set[int]]] = []

        async def handler(batch: list[Received[ItemIngested]]) -> None:
            mine = {r.record.partition for r in batch}
            overlaps.extend((mine, other) for other in in_flight)
            in_flight.append(mine)
            try:
                await asyncio.sleep(0.1)  # a round trip's wait: the other member runs meanwhile
                handled.extend(r.event.event_id for r in batch)
            finally:
                in_flight.remove(mine)

        runtime.subscribe(topic, ItemIngested, handler, group=group, consumers=2)
        async with runtime.running():
            for start in range(0, EVENTS, 10):
                await publish_events(kafka, topic, events[start : start + 10])
                await asyncio.sleep(0.02)
            await eventually(lambda: set(handled) >= {e.event_id for e in events}, timeout=60)
        return handled, overlaps

    handled, overlaps = asyncio.run(scenario())
    assert sorted(handled) == sorted(e.event_id for e in events)  # each once
    # The two members' batches were handled at the same time, and a batch holds records of
    # its member's partitions only: two overlapping batches never share a partition.
    assert overlaps
    assert all(not (mine & other) for mine, other in overlaps)
