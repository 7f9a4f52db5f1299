"""Bad events on every topic end in a dead-letter record: for each record that is not a valid
event of its topic, every consumer group that reads the topic publishes it to `<topic>.dlq`
with the reason in headers, and moves on (the platform still routes a real item afterwards).

The payloads come from Hypothesis (arbitrary JSON, hostile strings, raw bytes) plus fixed
cases: not JSON, invalid UTF-8, a lone-surrogate escape, deep nesting, an oversized document,
an empty record, and each topic's own event with one field of the wrong type.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict

import httpx
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mitl_cli.chaos.lag import counts_as_platform_group
from mitl_contracts import topics
from mitl_contracts.events import TOPIC_EVENTS
from mitl_contracts.examples import raw_examples
from mitl_ingest.core import item_id_for

from tests.fuzz.conftest import Platform
from tests.fuzz.hostile import json_values, nested
from tests.support import TopicReader, caught_up, wait_until

pytestmark = pytest.mark.e2e

FIXED_BAD = (
    b"",
    b"{nope",
    b"\xff\xfe\xfd",
    b'{"event_id": "\\ud800", "dataset": "trec6"}',
    nested(50_000).encode(),
    json.dumps({"dataset": "trec6", "padding": "x" * 500_000}).encode(),
    b"[]",
    b"null",
)


def wrong_field_variants(topic: str) -> list[bytes]:
    """The topic's own example event, each time with one required field of the wrong type."""
    example = raw_examples(topic)[0]
    return [
        json.dumps(example | {field: {"not": ["a", field]}}).encode()
        for field in ("dataset", "event_id", "occurred_at")
    ]


def invalid_for(topic: str, payload: bytes) -> bool:
    try:
        TOPIC_EVENTS[topic].model_validate_json(payload)
    except ValueError:
        return True
    return False


async def publish(bootstrap: str, topic: str, payloads: list[bytes]) -> list[tuple[int, int]]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=2_000_000)
    await producer.start()
    try:
        placed = []
        for n, payload in enumerate(payloads):
            meta = await producer.send_and_wait(topic, payload, key=f"bad-{n}".encode())
            placed.append((meta.partition, meta.offset))
        return placed
    finally:
        await producer.stop()


async def readers_of(bootstrap: str, topic: str) -> set[str]:
    """Platform consumer groups that have committed offsets on `topic`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        groups = [name for name, _ in await admin.list_consumer_groups()]
        found = set()
        for group in filter(counts_as_platform_group, groups):
            offsets = await admin.list_consumer_group_offsets(group, partitions=partitions)
            if any(meta.offset > 0 for meta in offsets.values()):
                found.add(group)
        return found
    finally:
        await admin.close()


async def all_consumed(bootstrap: str) -> None:
    """Until every platform consumer group has caught up with the bad records."""
    await caught_up(bootstrap, timeout=120)


def dead_lettered(records: list) -> dict[tuple[str, int, int], dict[str, str]]:
    """(group, partition, offset) -> headers of the dead-letter records read so far."""
    out = {}
    for record in records:
        headers = {k: v.decode() for k, v in record.headers or ()}
        key = (
            headers["mitl-dlq-group"],
            int(headers["mitl-dlq-partition"]),
            int(headers["mitl-dlq-offset"]),
        )
        out[key] = headers
    return out


async def read_dead_letters(
    bootstrap: str, topic: str, expected: set[tuple[str, int, int]]
) -> dict[tuple[str, int, int], dict[str, str]]:
    """The dead-letter records of `topic`, once all `expected` arrived (or after a minute)."""
    async with TopicReader(bootstrap, topics.dlq(topic)) as reader:
        try:
            await reader.wait_for(lambda rs: expected <= dead_lettered(rs).keys(), timeout=60)
        except TimeoutError:
            pass  # what is missing is reported by the caller, record by record
        return dead_lettered(reader.records)


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    generated=st.lists(
        st.one_of(
            json_values.map(lambda v: json.dumps(v).encode()), st.binary(min_size=1, max_size=64)
        ),
        min_size=12,
        max_size=12,
    )
)
def test_every_bad_event_on_every_topic_is_dead_lettered_with_its_reason(
    platform: Platform, generated: list[bytes]
) -> None:
    bootstrap = platform.bootstrap
    placed: dict[str, list[tuple[int, int]]] = {}
    for topic in topics.ALL:
        candidates = [*FIXED_BAD, *wrong_field_variants(topic), *generated]
        payloads = [p for p in candidates if invalid_for(topic, p)]
        placed[topic] = asyncio.run(publish(bootstrap, topic, payloads))
    asyncio.run(all_consumed(bootstrap))

    missing: dict[str, list[str]] = defaultdict(list)
    for topic, positions in placed.items():
        groups = asyncio.run(readers_of(bootstrap, topic))
        if not groups:
            continue
        expected = {(g, p, o) for g in groups for p, o in positions}

        found = asyncio.run(read_dead_letters(bootstrap, topic, expected))
        for key in sorted(expected):
            headers = found.get(key)
            if headers is None:
                missing[topic].append(f"{key}: no dead-letter record")
            elif not headers.get("mitl-dlq-reason") or headers.get("mitl-dlq-topic") != topic:
                missing[topic].append(f"{key}: headers {headers}")
    assert not missing, dict(missing)

    # The platform still works after all of that: a real item is routed.
    canary = f"canary-{uuid.uuid4().hex[:8]}"
    response = httpx.post(
        f"{platform.url('ingest')}/v1/items",
        json={"dataset": "trec6", "items": [{"external_id": canary, "text": "Who is Ada ?"}]},
        headers=platform.stack.ingest_headers,
        timeout=30,
    )
    assert response.json()["accepted"] == 1
    wait_until(lambda: platform.decided(item_id_for("trec6", canary)), timeout=120)
    assert all(process.poll() is None for process in platform.stack.processes.values())
