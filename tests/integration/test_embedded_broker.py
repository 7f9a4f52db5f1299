"""The embedded stand-in (`mitl run --broker embedded`, for a machine without Java) still
carries the platform's events: a smoke test of publish and consume on it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from mitl_contracts import topics
from mitl_contracts.examples import examples
from mitl_runtime.broker import EventPublisher
from mitl_runtime.localinfra import start_local_broker
from mitl_runtime.settings import ServiceSettings

from tests.support import TopicReader

pytestmark = pytest.mark.integration


def test_events_flow_through_the_embedded_broker(tmp_path: Path) -> None:
    broker = start_local_broker("embedded", tmp_path)
    try:
        assert broker.description.startswith("tansu ")
        # The stand-in takes no idempotent producers; mitl run turns them off for it.
        settings = ServiceSettings(
            kafka_bootstrap_servers=broker.bootstrap, kafka_enable_idempotence=False
        )
        sent = examples(topics.ITEMS_INGESTED)

        async def scenario() -> list[str]:
            async with EventPublisher(settings, "smoke") as publisher:
                await publisher.publish(topics.ITEMS_INGESTED, sent)
            async with TopicReader(broker.bootstrap, topics.ITEMS_INGESTED) as reader:
                await reader.wait_for(lambda records: len(records) >= len(sent))
                return [e.event_id for e in reader.events(type(sent[0]))]

        assert sorted(asyncio.run(scenario())) == sorted(e.event_id for e in sent)
    finally:
        broker.stop()
