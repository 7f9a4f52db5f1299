"""Fresh batches on the item path: a batch topped up with what reached the broker while the
previous batch was being handled.

aiokafka fetches ahead. When a batch is taken from its buffer, it sends a fetch at once; Kafka
answers it with the records that are there and the first that arrive, and no further fetch goes
out for a partition until its buffered records are taken. So, under steady load, the next
batch holds only what arrived just after the previous batch began, and everything that arrived
later in that batch's handling waits for the batch after: an item waits about two batch times
instead of one, at every hop of the item path.

`top_up` is called with a batch from the buffer whose newest record is already older than
the wait: it takes what the fetch sent for that batch brings back (Kafka answers at once when
records are there), waiting at most `wait_ms`, so the handler gets everything that has arrived.
A batch of fresh records (light load: each fetch returns on the first arrival) is left as it
is, so a lone item never waits for the top-up.

`grow` is for a backlog: a batch that came back full (the hop's `kafka_max_batch`) is grown
with records the consumer has already fetched, up to `kafka_backlog_batch`, without waiting.
Small batches keep each hop quick at moderate load (an item waits about two batch times); a
backlog is still cleared in large batches, which cost less per record.

Records topped up or grown are not in faststream's message. On success faststream commits the
consumer's positions, which include them. On failure it rewinds only the partitions of its own
records; `rewind` seeks the other partitions back, so that nothing is committed past a record
that was not handled.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from itertools import chain
from typing import Any

from aiokafka import TopicPartition


def stale(records: Sequence[Any], wait_ms: int, now: float | None = None) -> bool:
    """True when every record of the batch reached Kafka more than `wait_ms` ago (by its
    timestamp): the batch came from the fetch-ahead buffer and newer records may be waiting."""
    stamps = [r.timestamp for r in records if r.timestamp is not None]
    if not stamps:
        return False
    now_ms = (time.time() if now is None else now) * 1000
    return now_ms - max(stamps) > wait_ms


async def top_up(consumer: Any, records: Sequence[Any], room: int, wait_ms: int) -> tuple[Any, ...]:
    """Records fetched after `records`, at most `room` of them, waiting at most `wait_ms` for
    the fetch in flight; none when the batch is fresh, full, or the consumer cannot fetch
    (faststream's test client)."""
    if wait_ms <= 0 or room <= 0 or not hasattr(consumer, "getmany"):
        return ()
    if not stale(records, wait_ms):
        return ()
    fetched = await consumer.getmany(timeout_ms=wait_ms, max_records=room)
    return tuple(chain.from_iterable(fetched.values()))


async def grow(consumer: Any, records: Sequence[Any], full: int, limit: int) -> tuple[Any, ...]:
    """Records already fetched after `records`, up to `limit` in all, when the batch is
    `full` (a backlog is waiting); none otherwise, or when the consumer cannot fetch. Takes
    only what the fetch-ahead buffer holds: never waits."""
    if len(records) < full or limit <= len(records) or not hasattr(consumer, "getmany"):
        return ()
    fetched = await consumer.getmany(timeout_ms=0, max_records=limit - len(records))
    return tuple(chain.from_iterable(fetched.values()))


def rewind(consumer: Any, batch: Sequence[Any], extra: Sequence[Any]) -> None:
    """Seek each partition that only `extra` holds back to its earliest record there (none
    when nothing was topped up). faststream's own rewind covers the partitions of `batch`:
    their earliest record there comes before any topped-up one."""
    own = {(r.topic, r.partition) for r in batch}
    earliest: dict[tuple[str, int], int] = {}
    for record in extra:
        key = (record.topic, record.partition)
        if key not in own and (key not in earliest or record.offset < earliest[key]):
            earliest[key] = record.offset
    for (topic, partition), offset in earliest.items():
        consumer.seek(TopicPartition(topic, partition), offset)
