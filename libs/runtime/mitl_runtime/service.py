"""What every service runs on: a broker, an optional Postgres pool with its schema migrated,
the event publisher, dead-lettering, and health. Built in the app's lifespan, handed to
handlers; nothing here is a module-level global."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Literal

import asyncpg
from mitl_contracts.events import Event

from mitl_runtime.broker import EventPublisher, make_broker
from mitl_runtime.consumer import E, Handler, subscribe
from mitl_runtime.db import create_pool, migrate
from mitl_runtime.dlq import DeadLetterLimit, DeadLetters
from mitl_runtime.http import Health
from mitl_runtime.kafka_security import start_kafka_clients
from mitl_runtime.settings import ServiceSettings
from mitl_runtime.tracing import Tracing

# Run once the schema is migrated and before any subscriber starts (e.g. settling state the
# first batch needs).
Prepare = Callable[[asyncpg.Pool], Awaitable[None]]


class ServiceRuntime:
    def __init__(self, name: str, settings: ServiceSettings) -> None:
        self.name = name
        self.settings = settings
        self.broker = make_broker(settings, name)
        self.tracing = Tracing(settings, name)
        self.publisher = EventPublisher(settings, name, self.tracing)
        self.health = Health()
        # One limit per service: every dead letter and every pass, from the consumer or from a
        # handler, counts in the same window.
        self.dead_letter_limit = DeadLetterLimit(settings.dlq_max_ratio, settings.dlq_window)
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError(f"{self.name} has no database pool (not started with a schema)")
        return self._pool

    def dead_letters(self, group: str) -> DeadLetters:
        return DeadLetters(self.broker, self.name, group, self.dead_letter_limit)

    def subscribe(
        self,
        topic: str,
        event_type: type[E],
        handler: Handler[E],
        *,
        group: str | None = None,
        max_records: int | None = None,
        offset_reset: Literal["earliest", "latest"] | None = None,
        dead_letters: DeadLetters | None = None,
    ) -> None:
        """Consume `topic` in consumer group `group`, by default one group per service and
        topic: a rebalance of one subscription never pauses the service's others, and
        brokers never see one group with members subscribed to different topics.
        `offset_reset` overrides kafka_auto_offset_reset (where a new group starts reading),
        `dead_letters` the group's dead-letter sink."""
        group = group or f"mitl-{self.name}.{topic.removeprefix('mitl.')}"
        settings = self.settings
        if offset_reset is not None:
            settings = settings.model_copy(update={"kafka_auto_offset_reset": offset_reset})
        subscribe(
            self.broker,
            settings,
            topic=topic,
            group=group,
            event_type=event_type,
            handler=handler,
            dead_letters=dead_letters or self.dead_letters(group),
            max_records=max_records,
            on_fatal=self.health.fail,
            tracing=self.tracing,
        )

    async def publish(self, topic: str, events: list[Event]) -> None:
        await self.publisher.publish(topic, events)

    async def start(
        self,
        *,
        schema: str | None = None,
        migrations: str | None = None,
        prepare: Prepare | None = None,
    ) -> None:
        """Migrate `schema`, then run `prepare` (with the pool), then start consuming."""
        try:
            if schema:
                self._pool = await create_pool(self.settings.database_url)
                await migrate(self._pool, schema, migrations or schema)
                pool = self._pool

                async def database() -> None:
                    await pool.fetchval("SELECT 1")

                self.health.add_check("postgres", database)
                if prepare is not None:
                    await prepare(pool)
            # Bounded (kafka_connect_timeout_s, kafka_start_timeout_s); a KafkaStartupError
            # (logged) says what is wrong: unreachable, authentication, TLS. The lifespan
            # fails, and with it uvicorn's start-up (serve.py: the process exits).
            await start_kafka_clients(
                self.settings,
                self.name,
                ("broker", self.broker.start),
                ("publisher", self.publisher.start),
            )
        except BaseException:
            with suppress(Exception):
                await self.stop()
            raise

        async def kafka() -> None:
            if not await self.broker.ping(timeout=2.0):
                raise ConnectionError("Kafka broker does not answer")

        self.health.add_check("kafka", kafka)
        self.health.started = True

    async def stop(self) -> None:
        self.health.started = False
        await self.publisher.stop()
        await self.broker.stop()
        if self._pool is not None:
            await self._pool.close()
        self.tracing.shutdown()

    @asynccontextmanager
    async def running(
        self,
        *,
        schema: str | None = None,
        migrations: str | None = None,
        prepare: Prepare | None = None,
    ) -> AsyncIterator[ServiceRuntime]:
        await self.start(schema=schema, migrations=migrations, prepare=prepare)
        try:
            yield self
        finally:
            await self.stop()
