"""Batch subscribers with dead-lettering and redelivery, on top of faststream.

A handler gets the valid events of one fetched batch. It may dead-letter single events (bad
in a way only the service can tell, e.g. an unknown dataset); if it raises anything else the
whole batch is redelivered after a backoff, and nothing is committed past it. The exception is
a PostgreSQL data exception, which redelivery cannot cure: the batch is then handled message
by message and the message that causes it is dead-lettered (poison.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiokafka import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from mitl_contracts import topics
from mitl_contracts.events import Event
from pydantic import ValidationError

from mitl_runtime.dlq import (
    DeadLetterLimitExceeded,
    DeadLetters,
    HandlerRejections,
    InvalidMessage,
    SourceRecord,
    consuming,
)
from mitl_runtime.fresh_batch import grow, rewind, top_up
from mitl_runtime.metrics import (
    BACKLOG_BATCH_RECORDS,
    BATCH_SECONDS,
    CONSUMER_LAG,
    EVENTS_CONSUMED,
    FRESH_BATCH_RECORDS,
    RECORD_AGE_SECONDS,
    RETRIES,
)
from mitl_runtime.poison import data_error, handle_one_by_one
from mitl_runtime.replay import replayed_for_another
from mitl_runtime.settings import ServiceSettings
from mitl_runtime.tracing import Tracing

E = TypeVar("E", bound=Event)
log = logging.getLogger(__name__)
MAX_BACKOFF_S = 5.0


@dataclass(frozen=True)
class Received(Generic[E]):
    event: E
    record: SourceRecord


def decode(event_type: type[E], value: bytes) -> E:
    """Parse one message, or raise InvalidMessage saying what is wrong with it."""
    try:
        return event_type.model_validate_json(value)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()
        )
        kind = "json" if any(e["type"] == "json_invalid" for e in error.errors()) else "schema"
        raise InvalidMessage(f"not a valid {event_type.__name__}: {problems}", kind) from error


Handler = Callable[[list[Received[E]]], Awaitable[None]]


def observe_lag(consumer: Any, records: Sequence[Any], service: str, group: str) -> None:
    """Export each partition's lag after a handled batch: the high-water mark the consumer saw
    on its latest fetch, minus the offset after the batch's last record of that partition."""
    highwater = getattr(consumer, "highwater", None)
    if highwater is None:
        return
    last: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic, record.partition)
        last[key] = max(last.get(key, -1), record.offset)
    for (topic, partition), offset in last.items():
        mark = highwater(TopicPartition(topic, partition))
        if mark is not None:
            lag = max(0, mark - offset - 1)
            CONSUMER_LAG.labels(service, group, topic, str(partition)).set(lag)


async def undecoded(message: StreamMessage[Any]) -> Any:
    """The records' bodies as they are: `decode` validates each record against its event model
    and dead-letters what is bad. faststream's own JSON decoding would run before the handler,
    so a record it chokes on (nested too deep for json.loads, bad JSON under a JSON content
    type) would fail every delivery of its batch, for ever."""
    return message.body


async def handle(
    handler: Handler[E], received: list[Received[E]], dead_letters: DeadLetters, where: str
) -> int:
    """Run `handler` over the batch; return how many messages it dead-lettered. A batch that
    fails on one message's data is handled one message at a time instead (poison.py)."""
    with HandlerRejections() as rejections:
        try:
            await handler(received)
            return rejections.count
        except Exception as error:
            cause = data_error(error)
            if cause is None:
                raise
    log.warning("%s: batch failed on its data (%s); handling it message by message", where, cause)
    # Counted afresh: what the failed attempt dead-lettered is dead-lettered again now.
    with HandlerRejections() as rejections:
        await handle_one_by_one(handler, received, dead_letters)
        return rejections.count


def subscribe(
    broker: KafkaBroker,
    settings: ServiceSettings,
    *,
    topic: str,
    group: str,
    event_type: type[E],
    handler: Handler[E],
    dead_letters: DeadLetters,
    max_records: int | None = None,
    on_fatal: Callable[[BaseException], None] | None = None,
    tracing: Tracing | None = None,
) -> None:
    """Register a batch subscriber for `topic` in consumer group `group`."""
    failures = 0
    traced = tracing if tracing is not None and tracing.enabled else None
    batch_limit = max_records or settings.kafka_max_batch
    item_path = topic in topics.LATENCY_SENSITIVE
    fresh_wait_ms = settings.kafka_fresh_batch_wait_ms if item_path else 0
    backlog_limit = settings.kafka_backlog_batch if item_path else 0

    @broker.subscriber(
        topic,
        group_id=group,
        batch=True,
        max_records=batch_limit,
        batch_timeout_ms=settings.kafka_batch_timeout_ms,
        fetch_max_wait_ms=(
            settings.kafka_fetch_max_wait_ms
            if topic in topics.LATENCY_SENSITIVE
            else settings.kafka_background_fetch_max_wait_ms
        ),
        auto_offset_reset=settings.kafka_auto_offset_reset,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=undecoded,
    )
    async def consume(msg: KafkaMessage) -> None:
        nonlocal failures
        raw: Any = msg.raw_message
        taken = raw if isinstance(raw, tuple) else (raw,)
        consumer = getattr(msg, "consumer", None)
        extra = await top_up(consumer, taken, batch_limit - len(taken), fresh_wait_ms)
        if extra:
            FRESH_BATCH_RECORDS.labels(dead_letters.service, topic).inc(len(extra))
        grown = await grow(consumer, taken + extra, batch_limit, backlog_limit)
        if grown:
            BACKLOG_BATCH_RECORDS.labels(dead_letters.service, topic).inc(len(grown))
        extra += grown
        records = taken + extra
        started = time.perf_counter()
        oldest_ms = min((r.timestamp for r in records if r.timestamp is not None), default=None)
        if oldest_ms is not None:
            age = max(0.0, time.time() - oldest_ms / 1000)
            RECORD_AGE_SECONDS.labels(dead_letters.service, topic).observe(age)
        received: list[Received[E]] = []
        rejected = 0
        try:
            traces = traced.consuming(topic, group, records) if traced else nullcontext()
            with traces, consuming(group):
                for record in records:
                    if replayed_for_another(record.headers, group):
                        continue
                    source = SourceRecord.from_consumer_record(record)
                    try:
                        received.append(Received(decode(event_type, source.value), source))
                    except InvalidMessage as error:
                        await dead_letters.send(source, error)
                if received:
                    where = f"{group} on {topic}"
                    rejected = await handle(handler, received, dead_letters, where)
        except DeadLetterLimitExceeded as error:
            log.critical("%s: %s; stopping consumption of %s", group, error, topic)
            rewind(consumer, taken, extra)
            if on_fatal:
                on_fatal(error)
            raise
        except Exception:
            rewind(consumer, taken, extra)
            failures += 1
            RETRIES.labels(dead_letters.service, topic).inc()
            delay = min(MAX_BACKOFF_S, 0.1 * 2 ** min(failures, 10))
            log.exception("%s: batch from %s failed; redelivering in %.1fs", group, topic, delay)
            await asyncio.sleep(delay)
            raise
        failures = 0
        if received:
            dead_letters.passed(len(received) - rejected)
        EVENTS_CONSUMED.labels(dead_letters.service, topic).inc(len(records))
        observe_lag(consumer, records, dead_letters.service, group)
        BATCH_SECONDS.labels(dead_letters.service, topic).observe(time.perf_counter() - started)
