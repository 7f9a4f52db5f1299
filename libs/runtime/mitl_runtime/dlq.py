"""Dead-lettering: a message that can never succeed goes to `<topic>.dlq`, reason in headers.

Two kinds of failure: `InvalidMessage` means the message itself is bad, so it is
dead-lettered and the consumer commits past it; any other exception is transient and the
batch is redelivered. `DeadLetterLimit` stops a consumer that dead-letters too much, because
that means the code, not the data, is wrong.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mitl_contracts.topics import dlq

from mitl_runtime.metrics import DEAD_LETTERS

if TYPE_CHECKING:
    from faststream.kafka import KafkaBroker

MAX_REASON_CHARS = 1000


# Counts the messages a batch handler dead-letters itself, so that the consumer records as
# passed exactly the others (the context is per consumed batch, so concurrent subscribers of
# one service never see each other's counts).
_handler_rejections: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "mitl_handler_rejections", default=None
)
# The consumer group whose batch is being handled: a handler's own sink is one per service,
# but the dead letter must name the group that consumed the message, which is the group a
# replay is addressed to (replay.py).
_consuming_group: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mitl_consuming_group", default=None
)


class InvalidMessage(Exception):
    """This message can never be processed; `kind` is a short machine-readable category."""

    def __init__(self, reason: str, kind: str = "invalid") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


class DeadLetterLimitExceeded(RuntimeError):
    """Too large a share of recent messages was dead-lettered: stop rather than commit."""


@dataclass(frozen=True)
class SourceRecord:
    """Where a message came from: enough to find it again and to replay it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()

    @classmethod
    def from_consumer_record(cls, record: Any) -> SourceRecord:
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value or b"",
            headers=tuple(record.headers or ()),
        )


class DeadLetterLimit:
    """Counts outcomes over a sliding window of messages and trips above `max_ratio`."""

    def __init__(self, max_ratio: float, window: int) -> None:
        self.max_ratio = max_ratio
        self.window: collections.deque[bool] = collections.deque(maxlen=window)
        self.dead = 0

    def record(self, dead_lettered: bool) -> None:
        if len(self.window) == self.window.maxlen and self.window[0]:
            self.dead -= 1
        self.window.append(dead_lettered)
        self.dead += dead_lettered
        full = len(self.window) == self.window.maxlen
        if full and self.dead > self.max_ratio * len(self.window):
            raise DeadLetterLimitExceeded(
                f"{self.dead} of the last {len(self.window)} messages were dead-lettered"
            )


class DeadLetters:
    """Publishes bad messages, unchanged, to their topic's dead-letter topic."""

    def __init__(self, broker: KafkaBroker, service: str, group: str, limit: DeadLetterLimit):
        self.broker = broker
        self.service = service
        self.group = group
        self.limit = limit

    async def send(self, record: SourceRecord, error: InvalidMessage) -> None:
        headers = {
            "mitl-dlq-reason": error.reason[:MAX_REASON_CHARS],
            "mitl-dlq-kind": error.kind,
            "mitl-dlq-topic": record.topic,
            "mitl-dlq-partition": str(record.partition),
            "mitl-dlq-offset": str(record.offset),
            "mitl-dlq-service": self.service,
            "mitl-dlq-group": _consuming_group.get() or self.group,
        }
        await self.broker.publish(
            record.value, topic=dlq(record.topic), key=record.key, headers=headers
        )
        DEAD_LETTERS.labels(self.service, record.topic, error.kind).inc()
        if (counter := _handler_rejections.get()) is not None:
            counter[0] += 1
        self.limit.record(True)

    def passed(self, count: int = 1) -> None:
        for _ in range(count):
            self.limit.record(False)


@contextlib.contextmanager
def consuming(group: str) -> Iterator[None]:
    """Within the block, every dead letter names `group` as the consumer group that refused
    it, whichever sink sends it (the consumer's or a handler's own)."""
    token = _consuming_group.set(group)
    try:
        yield
    finally:
        _consuming_group.reset(token)


class HandlerRejections:
    """Counts, within a `with` block, the messages dead-lettered through any DeadLetters."""

    def __enter__(self) -> HandlerRejections:
        self.counter = [0]
        self._token = _handler_rejections.set(self.counter)
        return self

    def __exit__(self, *exc: object) -> None:
        _handler_rejections.reset(self._token)

    @property
    def count(self) -> int:
        return self.counter[0]
