"""Consumer lag, from the broker: per consumer group, end offsets minus committed offsets over
the topics the group has committed on.

Only the platform's shared groups count (`mitl-` prefix). A per-replica group (a random
12-hex suffix, e.g. inference's model listener) starts at the latest offset and never needs
to catch up, so its offsets say nothing about work waiting.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from mitl_runtime.localinfra import all_topics

log = logging.getLogger(__name__)
PLATFORM_GROUP = re.compile(r"^mitl-")
# A group of one replica's own (inference's model promotions: `mitl-inference.models.replica.<id>`,
# reading from the latest offset) is not the platform's backlog: it is left out.
PER_REPLICA_GROUP = re.compile(r"\.replica\.[A-Za-z0-9._-]+$|\.[0-9a-f]{12}$")


@dataclass(frozen=True)
class LagSample:
    """Lag per group (messages) at one moment."""

    by_group: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_group.values())


def counts_as_platform_group(name: str) -> bool:
    return bool(PLATFORM_GROUP.match(name)) and not PER_REPLICA_GROUP.search(name)


def group_lag(committed: dict[TopicPartition, int], ends: dict[TopicPartition, int]) -> int:
    """Messages not yet committed by a group on the topics it has committed on at all (a
    partition it has not committed on yet counts from offset 0). Pure."""
    topics = {tp.topic for tp, offset in committed.items() if offset > 0}
    return sum(
        max(0, end - max(committed.get(tp, 0), 0)) for tp, end in ends.items() if tp.topic in topics
    )


async def topic_partitions(admin: AIOKafkaAdminClient, topics: list[str]) -> list[TopicPartition]:
    """Every partition of `topics`, from the broker's metadata (a client that has not used a
    topic yet has none of its own)."""
    described = await admin.describe_topics(sorted(topics))
    return [
        TopicPartition(meta["topic"], partition["partition"])
        for meta in described
        for partition in sorted(meta["partitions"], key=lambda p: p["partition"])
    ]


class LagProbe:
    """Keeps an admin client and an offsets consumer open; `sample()` reads lag now."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self.offsets = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.partitions: list[TopicPartition] = []

    async def start(self) -> LagProbe:
        await self.admin.start()
        await self.offsets.start()
        self.partitions = await topic_partitions(self.admin, all_topics())
        return self

    async def close(self) -> None:
        await self.offsets.stop()
        await self.admin.close()

    async def sample(self, patience_s: float = 120.0) -> LagSample:
        """Lag now. Right after the broker came back, it answers some requests with a
        retriable error for a while (GroupLoadInProgress while it reloads the consumer
        offsets): asked again until it answers, for up to `patience_s`."""
        deadline = time.monotonic() + patience_s
        while True:
            try:
                return await self._sample()
            except KafkaError as error:
                if time.monotonic() > deadline:
                    raise
                log.info("lag probe: %s; asking again", error)
                await asyncio.sleep(0.5)

    async def _sample(self) -> LagSample:
        ends = await self.offsets.end_offsets(self.partitions)
        groups = [
            name for name, _ in await self.admin.list_consumer_groups() if isinstance(name, str)
        ]
        by_group: dict[str, int] = {}
        for group in sorted(filter(counts_as_platform_group, groups)):
            # Partitions are named explicitly: asking for "all" is not something every
            # Kafka-protocol broker answers (Tansu does not).
            offsets = await self.admin.list_consumer_group_offsets(
                group, partitions=self.partitions
            )
            committed = {tp: meta.offset for tp, meta in offsets.items()}
            by_group[group] = group_lag(committed, ends)
        return LagSample(by_group)
