"""Consumer lag per group and partition (mitl_consumer_lag_records) on the real broker: while a
consumer works through a backlog the gauge shows what is left; once it has caught up, 0."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from mitl_contracts.events import ItemContent, ItemIngested
from mitl_runtime.consumer import Received
from mitl_runtime.localinfra import create_topics
from mitl_runtime.metrics import CONSUMER_LAG
from mitl_runtime.service import ServiceRuntime
from mitl_runtime.settings import ServiceSettings

from tests.support import eventually, publish_events

pytestmark = pytest.mark.integration

EVENTS = 60
BATCH = 10


def lag(group: str, topic: str, partition: int = 0) -> float:
    return CONSUMER_LAG.labels("lag-test", group, topic, str(partition))._value.get()


def test_lag_counts_down_to_zero_as_a_backlog_is_consumed(
    kafka: str, service_env: dict[str, object]
) -> None:
    topic = f"test.lag.{uuid.uuid4().hex[:8]}"
    group = f"lag-{uuid.uuid4().hex[:8]}"
    events = [
        ItemIngested(
            event_id=f"e{n}",
            dataset="trec6",
            item_id="same-item",  # one key: one partition, in order
            external_id=f"x{n}",
            batch_id="b",
            content=ItemContent(text=f"item {n}"),
        )
        for n in range(EVENTS)
    ]

    async def scenario() -> list[float]:
        await create_topics(kafka, [topic], 1)
        await publish_events(kafka, topic, events)
        settings = ServiceSettings(
            **{**service_env, "kafka_auto_offset_reset": "earliest"}  # type: ignore[arg-type]
        )
        runtime = ServiceRuntime("lag-test", settings)
        seen: list[str] = []
        lags_seen: list[float] = []

        async def handler(batch: list[Received[ItemIngested]]) -> None:
            # The gauge as the previous batch left it.
            lags_seen.append(lag(group, topic))
            seen.extend(r.event.event_id for r in batch)

        runtime.subscribe(topic, ItemIngested, handler, group=group, max_records=BATCH)
        async with runtime.running():
            await eventually(lambda: len(seen) >= EVENTS)
            await eventually(lambda: lag(group, topic) == 0)
        assert seen == [e.event_id for e in events]
        return lags_seen

    lags_seen = asyncio.run(scenario())
    # Batches of at most BATCH: the backlog was visible, and shrank as it was worked through.
    assert len(lags_seen) >= EVENTS // BATCH
    assert max(lags_seen) >= EVENTS - 2 * BATCH
    assert max(lags_seen) <= EVENTS
    assert lag(group, topic) == 0
