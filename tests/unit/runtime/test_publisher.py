"""The publisher needs to be started; publishing nothing needs no broker."""

from __future__ import annotations

import asyncio

import pytest
from mitl_contracts import topics
from mitl_contracts.examples import examples
from mitl_runtime import outbox
from mitl_runtime.broker import EventPublisher, event_key
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


def test_stored_events_go_out_as_the_events_themselves_would() -> None:
    """The outbox keeps each event's key and JSON; published as stored, they are the very
    records `publish` makes of the events."""

    async def scenario() -> None:
        publisher = EventPublisher(ServiceSettings(), "test")
        sent: list[tuple[str, list[tuple[bytes, bytes]]]] = []

        async def record(topic: str, records: list[tuple[bytes, bytes]]) -> None:
            sent.append((topic, list(records)))

        publisher.publish_records = record  # type: ignore[method-assign]
        events = examples(topics.LABELS)
        await publisher.publish(topics.LABELS, events)
        rows = outbox.rows(topics.LABELS, events)
        await publisher.publish_stored(
            topics.LABELS, [(key, payload) for _, _, key, payload in rows]
        )
        assert len(sent) == 2 and sent[0] == sent[1]
        assert [key for key, _ in sent[0][1]] == [event_key(e) for e in events]

    asyncio.run(scenario())
