"""The publisher needs a started broker; publishing nothing needs none."""

from __future__ import annotations

import asyncio

import pytest
from mitl_runtime.broker import EventPublisher, aiokafka_producer, make_broker
from mitl_runtime.settings import ServiceSettings


def test_an_unstarted_broker_has_no_producer_to_publish_with() -> None:
    broker = make_broker(ServiceSettings(kafka_bootstrap_servers="127.0.0.1:1"), "test")
    with pytest.raises(RuntimeError, match="not started"):
        aiokafka_producer(broker)
    # Nothing to publish: no broker round trip, no error.
    asyncio.run(EventPublisher(broker, "test").publish("mitl.items.raw.v1", []))
