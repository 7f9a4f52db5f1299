"""The dead-letter topics as an operator sees them: how many records each holds, which and why,
and a replay of the ones whose cause is fixed (mitl_runtime.replay says how a replay reaches
only the group that refused a message).

A replay resumes: it reads from where the previous replay of the topic stopped (the offsets of
the consumer group `mitl-dlq-replay`, committed once the replayed messages are acknowledged by
the broker), up to the end of the topic as it was when the replay started, so that what it
sends back and is refused again is not read twice in one run. `from_beginning` reads the whole
topic again. A dead letter whose group has never consumed from the cluster (it was written
before dead letters named their consumer group) is replayed only to a group named explicitly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from mitl_contracts import topic_specs, topics
from mitl_runtime.kafka_clients import client_options, producer_options
from mitl_runtime.replay import DeadLetter
from mitl_runtime.settings import ServiceSettings

REPLAY_GROUP_ID = "mitl-dlq-replay"
READ_TIMEOUT_S = 30.0

Filter = Callable[[DeadLetter], bool]


def dead_letter_topics() -> list[str]:
    """Every declared dead-letter topic, in declaration order."""
    return [spec.name for spec in topic_specs.SPECS if spec.role == "dlq"]


def check_topic(topic: str) -> str:
    """The dead-letter topic `topic` (a source topic, or its dead-letter topic) names;
    ValueError naming the declared ones otherwise."""
    known = dead_letter_topics()
    name = topic if topic in known else topics.dlq(topic)
    if name not in known:
        raise ValueError(f"{topic!r} is not a mitl topic with a dead-letter topic; known: "
                         + ", ".join(t.removesuffix(".dlq") for t in known))  # fmt: skip
    return name


@dataclass(frozen=True)
class Held:
    """What a dead-letter topic holds now."""

    topic: str
    records: int
    newest: DeadLetter | None


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The partitions of `topic`, from the cluster's metadata of all topics. (The consumer's
    own metadata covers only the topics it was last assigned once it has been assigned any,
    so after one topic it could answer "no partitions" for the next.)"""
    cluster = await consumer._client.fetch_all_metadata()
    return [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]


def _consumer(settings: ServiceSettings, group_id: str | None = None) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        **client_options(settings),
        client_id="mitl-dlq",
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )


async def _read(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> list[DeadLetter]:
    """Every record from each partition's position up to `ends`, in (partition, offset)
    order."""
    found: list[DeadLetter] = []
    deadline = time.monotonic() + READ_TIMEOUT_S
    pending = {tp for tp, end in ends.items() if await consumer.position(tp) < end}
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"reading {sorted(str(tp) for tp in pending)} took too long")
        batches = await consumer.getmany(*pending, timeout_ms=1000)
        for tp, records in batches.items():
            for record in records:
                if record.offset < ends[tp]:
                    found.append(
                        DeadLetter.from_record(
                            tp.topic,
                            tp.partition,
                            record.offset,
                            record.timestamp,
                            record.key,
                            record.value,
                            record.headers,
                        )
                    )
        pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    found.sort(key=lambda d: (d.partition, d.offset))
    return found


async def held(settings: ServiceSettings, topics: list[str]) -> list[Held]:
    """How many records each of `topics` holds, and its newest one."""
    consumer = _consumer(settings)
    await consumer.start()
    try:
        out = []
        for topic in topics:
            partitions = await _partitions(consumer, topic)
            if not partitions:
                out.append(Held(topic, 0, None))
                continue
            starts = await consumer.beginning_offsets(partitions)
            ends = await consumer.end_offsets(partitions)
            count = sum(ends[tp] - starts[tp] for tp in partitions)
            # Each partition's last record; the newest of those is the topic's newest.
            lasts = {tp: ends[tp] for tp in partitions if ends[tp] > starts[tp]}
            consumer.assign(list(lasts))
            for tp, end in lasts.items():
                consumer.seek(tp, end - 1)
            newest = await _read(consumer, lasts) if lasts else []
            latest = max(newest, key=lambda d: d.timestamp_ms or 0, default=None)
            out.append(Held(topic, count, latest))
        return out
    finally:
        await consumer.stop()


async def records(settings: ServiceSettings, topic: str, keep: Filter) -> list[DeadLetter]:
    """Every record `topic` holds that `keep` keeps, oldest first."""
    consumer = _consumer(settings)
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topic)
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found = [d for d in await _read(consumer, ends) if keep(d)]
        return sorted(found, key=lambda d: (d.timestamp_ms or 0, d.partition, d.offset))
    finally:
        await consumer.stop()


@dataclass
class ReplayReport:
    """What a replay read and did; `unaddressed` are dead letters left for want of a group."""

    topic: str
    read: int = 0
    replayed: list[DeadLetter] = field(default_factory=list)
    filtered_out: int = 0
    unaddressed: list[DeadLetter] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "read": self.read,
            "replayed": len(self.replayed),
            "filtered_out": self.filtered_out,
            "unaddressed": len(self.unaddressed),
            "dry_run": self.dry_run,
            "records": [d.as_dict(value_chars=200) for d in self.replayed],
            "unaddressed_records": [d.as_dict(value_chars=200) for d in self.unaddressed],
        }


async def _known_groups(settings: ServiceSettings) -> set[str]:
    admin = AIOKafkaAdminClient(**client_options(settings), client_id="mitl-dlq")
    await admin.start()
    try:
        return {str(group[0]) for group in await admin.list_consumer_groups()}
    finally:
        await admin.close()


async def replay(
    settings: ServiceSettings,
    topic: str,
    keep: Filter,
    *,
    to_group: str | None = None,
    from_beginning: bool = False,
    dry_run: bool = False,
) -> ReplayReport:
    """Publish the dead letters of `topic` that `keep` keeps to their source topics again,
    each addressed to the group that refused it (or `to_group`); see the module's docstring."""
    report = ReplayReport(topic, dry_run=dry_run)
    groups = await _known_groups(settings)
    consumer = _consumer(settings, REPLAY_GROUP_ID)
    producer = AIOKafkaProducer(**producer_options(settings, "dlq-replay"))
    await consumer.start()
    await producer.start()
    try:
        partitions = await _partitions(consumer, topic)
        if not partitions:
            return report
        consumer.assign(partitions)
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            committed = None if from_beginning else await consumer.committed(tp)
            consumer.seek(tp, max(starts[tp], committed or 0))
        read = await _read(consumer, ends)
        report.read = len(read)
        sends = []
        for dead in read:
            if not keep(dead):
                report.filtered_out += 1
                continue
            group = to_group or dead.group
            if group not in groups:
                report.unaddressed.append(dead)
                continue
            report.replayed.append(dead)
            if not dry_run:
                sends.append(
                    await producer.send(
                        dead.source_topic,
                        value=dead.value,
                        key=dead.key,
                        headers=dead.replay_headers(group),
                    )
                )
        done = {tp: ends[tp] for tp in partitions if ends[tp] > starts[tp]}
        if not dry_run and done:
            await asyncio.gather(*sends)
            await consumer.commit(done)
        return report
    finally:
        await producer.stop()
        await consumer.stop()
