"""The publisher needs to be started; publishing nothing needs no broker."""

from __future__ import annotations

import asyncio

import pytest
from mitl_contracts import topics
from mitl_contracts.examples import examples
from mitl_runtime.broker import EventPublisher
from mitl_runtime.kafka_clients import producer_options
from mitl_runtime.settings import ServiceSettings


def test_publishing_before_start_says_so() -> None:
    async def scenario() -> None:
        settings = ServiceSettings(kafka_bootstrap_servers="127.0.0.1:1")
        publisher = EventPublisher(settings, "test")
        # Nothing to publish: no broker round trip, no error.
        await publisher.publish("mitl.items.raw.v1", [])
        with pytest.raises(RuntimeError, match="not started"):
            await publisher.publish(topics.ITEMS_INGESTED, examples(topics.ITEMS_INGESTED)[:1])

    asyncio.run(scenario())


def test_producers_are_idempotent_and_wait_for_all_replicas() -> None:
    options = producer_options(ServiceSettings(), "router")
    assert options["enable_idempotence"] is True
    assert options["acks"] == "all"
    assert options["client_id"] == "mitl-router"
