"""Poison messages: a batch that fails because of what one of its messages holds.

A PostgreSQL data exception (SQLSTATE class 22: a NUL character that text and jsonb cannot
hold, a number out of range, a string too long for its column) depends on the data, not on the
moment: redelivering the batch fails the same way forever, so one such message would stop its
consumer for good. When a batch fails with one, its messages are handled one at a time; each
that fails again with a data exception is dead-lettered with the reason, and the others are
handled as usual. Handlers are idempotent (at-least-once delivery), so handling again what the
failed batch attempt had half done changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

import asyncpg

from mitl_runtime.dlq import DeadLetters, InvalidMessage, SourceRecord


class FromRecord(Protocol):
    @property
    def record(self) -> SourceRecord: ...


M = TypeVar("M", bound=FromRecord)


def data_error(error: BaseException) -> asyncpg.DataError | None:
    """The PostgreSQL data exception behind `error` (itself, or what it was raised from)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, asyncpg.DataError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


async def handle_one_by_one(
    handler: Callable[[list[M]], Awaitable[None]],
    received: Sequence[M],
    dead_letters: DeadLetters,
) -> None:
    """Handle each message alone; dead-letter those that fail on their data. Any other
    failure propagates (the batch is redelivered, as for any transient failure)."""
    for message in received:
        try:
            await handler([message])
        except Exception as error:
            cause = data_error(error)
            if cause is None:
                raise
            reason = f"PostgreSQL cannot store this message ({type(cause).__name__}): {cause}"
            await dead_letters.send(message.record, InvalidMessage(reason, "data"))
