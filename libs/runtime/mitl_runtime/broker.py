"""Kafka broker factory and the event publisher every service uses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from faststream.kafka import KafkaBroker
from mitl_contracts.events import Event

from mitl_runtime.metrics import EVENTS_PUBLISHED
from mitl_runtime.settings import ServiceSettings

JSON_HEADERS = {"content-type": "application/json"}


def make_broker(settings: ServiceSettings, service: str) -> KafkaBroker:
    """A broker for one service. Idempotent producers stay off: exactly-once effects come
    from idempotent consumers (every write is keyed by event_id), which also works on Tansu."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"mitl-{service}",
        enable_idempotence=False,
        acks="all",
        linger_ms=2,
        logger=logging.getLogger(f"mitl.{service}.kafka"),
        log_level=logging.DEBUG,
    )


def event_key(event: Event) -> bytes:
    """Keys are item ids, so one item's events stay ordered on one partition."""
    item_id = getattr(event, "item_id", None)
    return (item_id or event.dataset).encode()


class EventPublisher:
    """Publishes events and returns once the broker has acknowledged all of them."""

    def __init__(self, broker: KafkaBroker, service: str) -> None:
        self.broker = broker
        self.service = service

    async def publish(self, topic: str, events: Sequence[Event]) -> None:
        if not events:
            return
        # Send without waiting for each acknowledgement, then wait for all: a batch costs one
        # round trip instead of one per event, and nothing is committed before it is durable.
        pending = [
            await self.broker.publish(
                event.model_dump_json().encode(),
                topic=topic,
                key=event_key(event),
                headers=JSON_HEADERS,
                no_confirm=True,
            )
            for event in events
        ]
        await asyncio.gather(*pending)
        EVENTS_PUBLISHED.labels(self.service, topic).inc(len(events))
