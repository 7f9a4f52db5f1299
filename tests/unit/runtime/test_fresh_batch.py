"""Fresh batches: a stale batch is topped up from the fetch in flight, a fresh one is not, a
full one grows from what is already fetched, and a failed batch's topped-up partitions are
rewound."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from mitl_runtime.fresh_batch import grow, rewind, stale, top_up


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    timestamp: int | None


def at(ms_ago: float, partition: int = 0, offset: int = 0) -> Record:
    return Record("t", partition, offset, int(time.time() * 1000 - ms_ago))


@dataclass
class Consumer:
    """What top_up and rewind use of aiokafka's consumer: getmany, seek."""

    fetched: dict[TopicPartition, list[Record]] = field(default_factory=dict)
    calls: list[tuple[int, int]] = field(default_factory=list)
    seeks: list[tuple[TopicPartition, int]] = field(default_factory=list)

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[Any, list[Record]]:
        self.calls.append((timeout_ms, max_records))
        return self.fetched

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition, offset))


def test_a_batch_is_stale_when_its_newest_record_is_older_than_the_wait() -> None:
    now = 1_000.0
    old = Record("t", 0, 0, int(now * 1000) - 50)
    new = Record("t", 0, 1, int(now * 1000) - 5)
    assert stale([old], 20, now=now)
    assert not stale([old, new], 20, now=now)
    assert not stale([Record("t", 0, 0, None)], 20, now=now)  # no timestamp: leave it


def test_a_stale_batch_takes_what_the_fetch_in_flight_brings_up_to_the_room_left() -> None:
    newer = [at(1, partition=1, offset=7), at(1, partition=1, offset=8)]
    consumer = Consumer(fetched={TopicPartition("t", 1): newer})
    extra = asyncio.run(top_up(consumer, [at(80)], room=10, wait_ms=20))
    assert extra == tuple(newer)
    assert consumer.calls == [(20, 10)]


def test_a_fresh_or_full_batch_or_a_zero_wait_is_left_as_it_is() -> None:
    consumer = Consumer(fetched={TopicPartition("t", 0): [at(1, offset=9)]})
    assert asyncio.run(top_up(consumer, [at(1)], room=10, wait_ms=20)) == ()
    assert asyncio.run(top_up(consumer, [at(80)], room=0, wait_ms=20)) == ()
    assert asyncio.run(top_up(consumer, [at(80)], room=10, wait_ms=0)) == ()
    assert consumer.calls == []
    # faststream's test client hands over a consumer that cannot fetch.
    assert asyncio.run(top_up(object(), [at(80)], room=10, wait_ms=20)) == ()


def test_a_full_batch_grows_from_what_is_already_fetched_without_waiting() -> None:
    waiting = [at(5, partition=2, offset=k) for k in range(3)]
    consumer = Consumer(fetched={TopicPartition("t", 2): waiting})
    batch = [at(5, offset=k) for k in range(4)]
    assert asyncio.run(grow(consumer, batch, full=4, limit=16)) == tuple(waiting)
    assert consumer.calls == [(0, 12)]  # no wait; at most the limit in all


def test_a_batch_short_of_full_or_already_at_the_limit_does_not_grow() -> None:
    consumer = Consumer(fetched={TopicPartition("t", 0): [at(1, offset=9)]})
    batch = [at(5, offset=k) for k in range(4)]
    assert asyncio.run(grow(consumer, batch[:3], full=4, limit=16)) == ()
    assert asyncio.run(grow(consumer, batch, full=4, limit=4)) == ()
    assert asyncio.run(grow(consumer, batch, full=4, limit=0)) == ()  # off
    assert consumer.calls == []
    assert asyncio.run(grow(object(), batch, full=4, limit=16)) == ()


def test_rewind_seeks_only_the_partitions_the_batch_itself_does_not_hold() -> None:
    consumer = Consumer()
    batch = [at(80, partition=0, offset=3)]
    extra = [
        at(1, partition=0, offset=4),  # faststream rewinds partition 0 to offset 3 itself
        at(1, partition=2, offset=11),
        at(1, partition=2, offset=10),
        at(1, partition=5, offset=0),
    ]
    rewind(consumer, batch, extra)
    assert sorted(consumer.seeks) == [(TopicPartition("t", 2), 10), (TopicPartition("t", 5), 0)]
