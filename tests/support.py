"""Test helpers that talk to the real broker: read what services published."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from mitl_contracts.events import Event

ROOT = Path(__file__).resolve().parent.parent
E = TypeVar("E", bound=Event)


class TopicReader:
    """Reads a topic from the beginning, in its own consumer group, as events or raw records."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"test-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            session_timeout_ms=2000,
            heartbeat_interval_ms=300,
        )
        self.records: list[Any] = []

    async def __aenter__(self) -> TopicReader:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def wait_for(
        self, predicate: Callable[[list[Any]], bool], timeout: float = 30.0
    ) -> list[Any]:
        deadline = time.monotonic() + timeout
        while not predicate(self.records):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.topic}: condition not met; {len(self.records)} records")
            batches = await self.consumer.getmany(timeout_ms=200)
            for records in batches.values():
                self.records.extend(records)
        return self.records

    def events(self, event_type: type[E], **match: object) -> list[E]:
        out = []
        for record in self.records:
            try:
                event = event_type.model_validate_json(record.value)
            except ValueError:
                continue
            if all(getattr(event, k) == v for k, v in match.items()):
                out.append(event)
        return out


async def publish_raw(
    bootstrap: str,
    topic: str,
    values: list[bytes],
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def publish_events(bootstrap: str, topic: str, events: Sequence[Event]) -> None:
    """Publish `events` as the services do (EventPublisher), from a broker of its own."""
    from mitl_runtime.broker import EventPublisher
    from mitl_runtime.settings import ServiceSettings

    async with EventPublisher(ServiceSettings(kafka_bootstrap_servers=bootstrap), "test") as pub:
        await pub.publish(topic, list(events))


@asynccontextmanager
async def running_app(
    app: FastAPI, headers: dict[str, str] | None = None
) -> AsyncIterator[AsyncClient]:
    """Run `app`'s lifespan (broker, Postgres) and give an HTTP client bound to it, sending
    `headers` (credentials: ADMIN, AUDITOR, or `await ingest_headers(...)`) on every request."""
    async with app.router.lifespan_context(app):
        async with AsyncClient(
            transport=ASGITransport(app=app), base_url="http://test", headers=headers
        ) as client:
            yield client


# The static tokens every service under test is configured with (conftest.service_env).
def trec6_dataset(model: Path) -> str:
    """The tests' trec6 entry of a datasets file (two-space indented, under `datasets:`),
    served by the bundle at `model`."""
    return (
        "  trec6:\n"
        "    input_kind: text\n"
        "    labels: [ABBR, DESC, ENTY, HUM, LOC, NUM]\n"
        "    max_text_chars: 500\n"
        f"    model: {model}\n"
        "    policy:\n"
        "      version: test-v1\n"
        "      accept_threshold: 0.7\n"
        "      escalation_floor: 0.3\n"
        "      uncertainty: entropy\n"
        "      escalate_metadata:\n"
        "        domain: [medical]\n"
    )


ADMIN_TOKEN = "admin-token-of-the-tests"
AUDITOR_TOKEN = "auditor-token-of-the-tests"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
AUDITOR = {"Authorization": f"Bearer {AUDITOR_TOKEN}"}


async def ingest_key(
    database_url: str,
    *datasets: str,
    rate_per_s: float = 10_000.0,
    burst: int = 10_000,
    max_body_bytes: int = 64 * 1024 * 1024,
) -> tuple[str, str]:
    """A new ingest client (its id and key) scoped to `datasets` (none: every dataset), as
    `mitl clients create` makes it, with limits no test reaches unless it means to."""
    from mitl_ingest import client_store
    from mitl_runtime.db import create_pool, migrate

    client_id = f"test-client-{uuid.uuid4().hex[:8]}"
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        await migrate(pool, "ingest", "mitl_ingest")
        key = await client_store.create(
            pool, client_id, datasets or ("*",), rate_per_s, burst, max_body_bytes
        )
    finally:
        await pool.close()
    return client_id, key


async def ingest_headers(database_url: str, *datasets: str) -> dict[str, str]:
    """The Authorization header of a new ingest client (every dataset unless named)."""
    _, key = await ingest_key(database_url, *datasets)
    return {"Authorization": f"Bearer {key}"}


async def eventually(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll an async or sync `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)


async def caught_up(bootstrap: str, *groups: str, timeout: float = 120.0) -> None:
    """Wait until the platform's consumer groups (only `groups`, if named) have committed
    everything on the topics they read: what was published before has been handled."""
    from mitl_cli.chaos.lag import LagProbe

    probe = await LagProbe(bootstrap).start()

    async def no_lag() -> bool:
        lag = (await probe.sample()).by_group
        return not any(n for group, n in lag.items() if not groups or group in groups)

    try:
        await eventually(no_lag, timeout=timeout, interval=0.5)
    finally:
        await probe.close()


def wait_until(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.2) -> Any:
    """Poll a synchronous `check` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(interval)
    return result


BROKERS_USED: set[str] = set()


def own_broker(workdir: Path = ROOT / ".local" / "test") -> Iterator[str]:
    """An Apache Kafka node of its own, data under `workdir`, every topic created; yields its
    bootstrap address, stops it and removes its data after. The session's `kafka` fixture, and
    a module-scoped `kafka` of a module's own that shadows it: promotions announced there are
    no other module's history, and no other module's are its. MITL_TEST_BROKER=embedded runs
    the same on the embedded stand-in."""
    import shutil

    from mitl_runtime.localinfra import start_local_broker

    kind = os.environ.get("MITL_TEST_BROKER", "kafka")
    workdir = workdir / f"broker-{uuid.uuid4().hex[:6]}"
    broker = start_local_broker(kind, workdir)  # type: ignore[arg-type]
    BROKERS_USED.add(broker.description)
    try:
        yield broker.bootstrap
    finally:
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def own_database(prefix: str, *, stop_server: bool = False) -> Iterator[str]:
    """A fresh database named `prefix`_<pid>_<random>; yields its URL, drops it after (and
    stops an embedded server if `stop_server`)."""
    from mitl_runtime.localinfra import create_database, drop_database, resolve_postgres

    postgres = asyncio.run(resolve_postgres(ROOT / ".local" / "pgdata"))
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield asyncio.run(create_database(postgres.url, name))
    asyncio.run(drop_database(postgres.url, name))
    if stop_server:
        postgres.stop()
