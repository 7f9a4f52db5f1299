"""Each item's events in order: read from the broker (the audit log keeps decisions and labels,
not predictions), judged by `check_order` (pure).

For every item of a scenario, on mitl.items.ingested.v1, mitl.predictions.v1 and
mitl.decisions.v1:
- all of its events on one topic sit on one partition (they are keyed by item id; an item
  split over two partitions could be consumed out of order);
- its first routing decision names a prediction of that item that is on the topic;
- that prediction was made after the item was first ingested, and the decision after the
  prediction (event times: every service runs on this machine, so one clock). A retried or
  redelivered event appears again later (a prediction scored again keeps its id, since ids
  are fixed per item and model version), which is why the first decision, the first
  publication of its prediction and the item's first ingestion are what is compared.
Whatever breaks a rule is `out of order`, by rule, like the census' lost and duplicated.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from mitl_contracts import topics

from mitl_cli.chaos.lag import topic_partitions

STREAM = (topics.ITEMS_INGESTED, topics.PREDICTIONS, topics.DECISIONS)


@dataclass(frozen=True)
class Seen:
    """One event of an item, where it sits on its topic."""

    topic: str
    partition: int
    offset: int
    event_id: str
    occurred_at: float
    prediction_event_id: str | None = None


@dataclass
class Order:
    items: int = 0
    events: int = 0
    broken: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @property
    def out_of_order(self) -> int:
        return len({item for items in self.broken.values() for item in items})

    def reasons(self, limit: int = 3) -> dict[str, dict[str, object]]:
        return {
            f"out of order: {rule}": {"items": len(items), "examples": items[:limit]}
            for rule, items in sorted(self.broken.items())
        }


def check_order(items: Iterable[str], seen: dict[str, list[Seen]]) -> Order:
    order = Order()
    for item in dict.fromkeys(items):
        order.items += 1
        events = sorted(seen.get(item, ()), key=lambda e: (e.topic, e.offset))
        order.events += len(events)
        by_topic: dict[str, list[Seen]] = defaultdict(list)
        for event in events:
            by_topic[event.topic].append(event)
        if any(len({e.partition for e in on}) > 1 for on in by_topic.values()):
            order.broken["events of one topic on more than one partition"].append(item)
        ingested = by_topic[topics.ITEMS_INGESTED]
        decisions = by_topic[topics.DECISIONS]
        if not decisions:
            continue  # no decision at all is the census' business (lost)
        decision = decisions[0]
        # Prediction ids are fixed per item and model version: a batch scored again after a
        # crash publishes the same prediction again, later. The decision's is the first.
        predictions: dict[str, Seen] = {}
        for event in by_topic[topics.PREDICTIONS]:
            predictions.setdefault(event.event_id, event)
        prediction = predictions.get(decision.prediction_event_id or "")
        if prediction is None:
            order.broken["decision names no prediction of the item"].append(item)
            continue
        if decision.occurred_at < prediction.occurred_at:
            order.broken["decision before its prediction"].append(item)
        if ingested and prediction.occurred_at < min(e.occurred_at for e in ingested):
            order.broken["prediction before the item was ingested"].append(item)
    return order


def parse(topic: str, partition: int, offset: int, value: bytes) -> tuple[str, Seen] | None:
    event = json.loads(value)
    item = event.get("item_id")
    if not isinstance(item, str):
        return None
    at = datetime.fromisoformat(event["occurred_at"]).timestamp()
    seen = Seen(topic, partition, offset, event["event_id"], at, event.get("prediction_event_id"))
    return item, seen


async def read_streams(
    bootstrap: str, item_ids: Collection[str], names: Iterable[str] = STREAM
) -> dict[str, list[Seen]]:
    """Every event of `item_ids` on the topics `names`, from the start of each partition to
    its end now (records are matched on their key, the item id, before they are parsed)."""
    wanted = {item.encode() for item in item_ids}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        partitions = await topic_partitions(admin, list(names))
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    seen: dict[str, list[Seen]] = defaultdict(list)
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp in partitions if ends[tp] > 0}
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    if record.key in wanted and record.value is not None:
                        parsed = parse(tp.topic, tp.partition, record.offset, record.value)
                        if parsed is not None:
                            seen[parsed[0]].append(parsed[1])
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return seen
