"""The transactional outbox every service publishes through.

An event is written to `<schema>.outbox` in the same transaction as the change it reports
(`add`), so the change and its announcement commit or roll back together. A relay then
publishes the pending rows to Kafka and marks them published once the broker acknowledged
them. A crash between the publication and the mark publishes the rows again on the next
flush: consumers dedupe by event_id, and `add` ignores an event id already in the outbox.

Each service keeps the table in its own schema (services own their schema and read no other).
The table is the same everywhere: `DDL`, which each service's migration names by the line
`-- mitl:outbox-table` (`db.migrate` expands it; unqualified: migrations run with the
service's schema first on the search_path).

`OutboxRelay` is the relay: one task per process, woken after a commit (`wake`), flushing at
start-up and every idle interval besides, so that an event left pending by a crash or a
broker outage goes out on the next occasion. Pending rows are locked FOR UPDATE SKIP LOCKED
while they are published, so two replicas (or a replica and `mitl models`) never publish the
same rows at once; each flush publishes the oldest rows first, grouped by topic, in the order
they were written. The relay publishes each row's key and payload as stored: they are what the
service serialised from the validated event, and reading them back into events only to
serialise them again cost about 40 µs an event (`publish_pending` still returns the events,
for the callers that want them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeAlias, TypeVar

import asyncpg
from mitl_contracts.events import TOPIC_EVENTS, Event

from mitl_runtime import bulk
from mitl_runtime.broker import event_key
from mitl_runtime.db import SCHEMA_NAME

log = logging.getLogger(__name__)
T = TypeVar("T")

TABLE = "outbox"
# `seq` orders the rows as they were written (several rows of one transaction share their
# created_at); the payload is the event's JSON as the service serialised it.
DDL = """\
CREATE TABLE outbox (
    seq           bigserial   NOT NULL,
    event_id      text        PRIMARY KEY,
    topic         text        NOT NULL,
    key           text        NOT NULL,
    payload       json        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;
"""
COLUMNS = {"event_id": "text", "topic": "text", "key": "text", "payload": "json"}
DEFAULT_BATCH = 100

Db: TypeAlias = asyncpg.Pool | asyncpg.Connection
Row: TypeAlias = tuple[str, str, str, str]


class Publisher(Protocol):
    async def publish(self, topic: str, events: Sequence[Event]) -> None: ...


class StoredPublisher(Protocol):
    """Publishes events as the outbox keeps them: (key, JSON) per event."""

    async def publish_stored(self, topic: str, records: Sequence[tuple[str, str]]) -> None: ...


class Runtime(Protocol):
    """What a relay needs of a service runtime (`ServiceRuntime` has both)."""

    @property
    def pool(self) -> asyncpg.Pool: ...

    @property
    def publisher(self) -> StoredPublisher: ...


def table(schema: str) -> str:
    """`<schema>.outbox`, for a valid schema name."""
    if not SCHEMA_NAME.match(schema):
        raise ValueError(f"not a schema name: {schema!r}")
    return f"{schema}.{TABLE}"


def key_of(event: Event) -> str:
    """The key the event is published with (the publisher derives it the same way)."""
    return event_key(event).decode()


def rows(topic: str, events: Sequence[Event]) -> list[Row]:
    """The outbox rows of `events`, in order."""
    return [(e.event_id, topic, key_of(e), e.model_dump_json()) for e in events]


def insert_sql(schema: str) -> str:
    return bulk.insert_sql(table(schema), COLUMNS, on_conflict="(event_id) DO NOTHING")


def lock_pending_sql(schema: str) -> str:
    """Up to $1 unpublished rows, oldest first, locked so that a concurrent relay (another
    replica, the CLI) skips them instead of publishing them twice."""
    return (
        f"SELECT event_id, topic, key, payload FROM {table(schema)}"
        " WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED"
    )


def mark_published_sql(schema: str) -> str:
    return f"UPDATE {table(schema)} SET published_at = now() WHERE event_id = ANY($1::text[])"


def pending_count_sql(schema: str) -> str:
    return f"SELECT count(*) FROM {table(schema)} WHERE published_at IS NULL"


async def add(conn: asyncpg.Connection, schema: str, topic: str, events: Sequence[Event]) -> None:
    """Write `events` (in order) to the outbox of `schema`, in the caller's transaction; an
    event id already there is left alone."""
    if not events:
        return
    await conn.execute(insert_sql(schema), *bulk.columns(rows(topic, events), len(COLUMNS)))


def by_topic(records: Sequence[Any]) -> list[tuple[str, list[Any]]]:
    """Locked rows grouped by topic, topics in the order they first appear and each topic's
    rows in row order."""
    groups: dict[str, list[Any]] = {}
    for record in records:
        groups.setdefault(record["topic"], []).append(record)
    return list(groups.items())


def decode(records: Sequence[Any]) -> list[tuple[str, list[Event]]]:
    """Locked rows as events grouped by topic (`by_topic`)."""
    return [
        (topic, [TOPIC_EVENTS[topic].model_validate_json(r["payload"]) for r in rows])
        for topic, rows in by_topic(records)
    ]


def stored(records: Sequence[Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Locked rows as (key, payload) grouped by topic (`by_topic`)."""
    return [(topic, [(r["key"], r["payload"]) for r in rows]) for topic, rows in by_topic(records)]


async def pending_count(db: Db, schema: str) -> int:
    return int(await db.fetchval(pending_count_sql(schema)))


async def locked_batch(
    pool: asyncpg.Pool,
    schema: str,
    batch: int,
    publish: Callable[[Sequence[Any]], Awaitable[None]],
) -> Sequence[Any]:
    """Lock up to `batch` pending rows, hand them to `publish`, and mark them published once
    it returns (the broker acknowledged them all); returns the rows. The rows stay locked
    while they are published."""
    async with pool.acquire() as conn, conn.transaction():
        records = await conn.fetch(lock_pending_sql(schema), batch)
        if records:
            await publish(records)
            await conn.execute(mark_published_sql(schema), [r["event_id"] for r in records])
    return records


async def until_drained(flush: Callable[[], Awaitable[Sequence[T]]], batch: int) -> list[T]:
    """Call `flush` (one batch) until a batch comes back short; everything it returned."""
    done: list[T] = []
    while found := await flush():
        done += found
        if len(found) < batch:
            break
    return done


async def flush_once(
    pool: asyncpg.Pool, schema: str, publisher: Publisher, batch: int = DEFAULT_BATCH
) -> list[Event]:
    """Publish one batch of pending events; returns them."""
    published: list[Event] = []

    async def publish(records: Sequence[Any]) -> None:
        for topic, events in decode(records):
            await publisher.publish(topic, events)
            published.extend(events)

    await locked_batch(pool, schema, batch, publish)
    return published


async def flush_stored_once(
    pool: asyncpg.Pool, schema: str, publisher: StoredPublisher, batch: int = DEFAULT_BATCH
) -> Sequence[Any]:
    """One batch published as stored: each row's key and payload, the JSON the service
    serialised when it wrote the row (the bytes `publish` would send), without validating and
    serialising every event again; returns the rows."""

    async def publish(records: Sequence[Any]) -> None:
        for topic, rows_of_topic in stored(records):
            await publisher.publish_stored(topic, rows_of_topic)

    return await locked_batch(pool, schema, batch, publish)


async def publish_pending(
    pool: asyncpg.Pool, schema: str, publisher: Publisher, batch: int = DEFAULT_BATCH
) -> list[Event]:
    """Publish everything pending in the outbox of `schema` now; returns what was published
    (not what another relay was publishing meanwhile)."""
    return await until_drained(lambda: flush_once(pool, schema, publisher, batch), batch)


class OutboxRelay:
    """Publishes what a service wrote to its outbox. `run` is its task; `flush` publishes now
    (for a service that publishes in line, or at start-up)."""

    def __init__(
        self,
        runtime: Runtime,
        schema: str,
        batch: int = DEFAULT_BATCH,
        linger_seconds: float = 0.0,
    ) -> None:
        table(schema)  # validated now rather than at the first flush
        self.runtime = runtime
        self.schema = schema
        self.batch = batch
        # How long a wake-up waits before flushing, so that the events of concurrent commits
        # go out in one flush (a flush costs a transaction and a broker round trip however
        # many events it carries). 0: flush at once.
        self.linger = linger_seconds
        self.wakeup = asyncio.Event()
        self.stopping = False

    def wake(self) -> None:
        """Something was committed to the outbox: publish it soon."""
        self.wakeup.set()

    async def flush_once(self) -> int:
        """Publish one batch of pending events (as stored); returns how many."""
        return len(await self.flush_stored())

    async def flush(self) -> int:
        """Publish everything pending now; returns how many were published."""
        return len(await until_drained(self.flush_stored, self.batch))

    async def flush_stored(self) -> Sequence[Any]:
        return await flush_stored_once(
            self.runtime.pool, self.schema, self.runtime.publisher, self.batch
        )

    async def try_flush(self) -> None:
        """Flush, logging a failure instead of raising: the events are durable in the outbox
        and the next flush publishes them."""
        try:
            await self.flush()
        except Exception:  # any failure leaves rows pending, which is the safe state
            log.exception("publishing the %s outbox failed; it will be retried", self.schema)

    def stop(self) -> None:
        """Finish the flush under way, publish what is pending, and return from `run`. (Not a
        cancellation: a query cancelled just as it completes can leave an asyncpg connection
        waiting forever.)"""
        self.stopping = True
        self.wakeup.set()

    async def run(self, idle_seconds: float) -> None:
        """Flush now, then whenever woken or after `idle_seconds`, until stopped."""
        while True:
            # Cleared before flushing: a wake-up during the flush means another round.
            self.wakeup.clear()
            await self.try_flush()
            if self.stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), idle_seconds)
                if self.linger > 0 and not self.stopping:
                    await asyncio.sleep(self.linger)
