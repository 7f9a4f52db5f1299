"""Topics as code: how every topic of `topics.ALL` and its dead-letter topic is laid out.

Declared once here, for a production cluster (three brokers or more); `mitl topics apply`
makes a cluster match (creates, raises partitions, alters configs) and refuses what Kafka
cannot change in place (fewer partitions, another replication factor). `for_cluster` scales
the declaration down for a cluster of fewer brokers (local runs and tests use one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from mitl_contracts import topics

CleanupPolicy = Literal["delete", "compact"]
Role = Literal["item", "control", "dlq"]

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

# Managed topic configs (the keys `TopicSpec.configs` returns and `apply` keeps in line).
MIN_INSYNC_REPLICAS = "min.insync.replicas"
RETENTION_MS = "retention.ms"
CLEANUP_POLICY = "cleanup.policy"
MANAGED_CONFIGS = (MIN_INSYNC_REPLICAS, RETENTION_MS, CLEANUP_POLICY)

# Production defaults. Replication 3 with min.insync.replicas 2: an acks=all write (every
# producer of mitl) survives the loss of one broker and still succeeds while one is down.
REPLICATION_FACTOR = 3
MIN_INSYNC = 2
# The item path carries one event per item: its partitions are the ceiling of consumer
# replicas (deploy/services.yaml can raise it per environment: `--partitions`).
ITEM_PARTITIONS = 6
# Models, policies, drift alerts: a few events a day, read by a replica or two.
CONTROL_PARTITIONS = 3
# Dead letters: rare, nothing consumes them automatically; kept long enough to be looked at.
DLQ_PARTITIONS = 3

ITEM_PATH = (
    topics.ITEMS_RAW,
    topics.ITEMS_INGESTED,
    topics.PREDICTIONS,
    topics.DECISIONS,
    topics.REVIEW_REQUESTED,
    topics.LABELS,
)
CONTROL = (topics.MODELS, topics.DRIFT, topics.POLICIES, topics.ACCESS)


@dataclass(frozen=True)
class TopicSpec:
    """One topic as it should be. No cleanup policy here is `compact`: the platform's state
    lives in Postgres, a topic is a log of events, each kept for `retention_ms`."""

    name: str
    partitions: int
    replication_factor: int
    min_insync_replicas: int
    retention_ms: int
    cleanup_policy: CleanupPolicy = "delete"
    role: Role = "item"

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise ValueError(f"{self.name}: partitions must be >= 1, not {self.partitions}")
        if self.replication_factor < 1:
            raise ValueError(
                f"{self.name}: replication factor must be >= 1, not {self.replication_factor}"
            )
        if not 1 <= self.min_insync_replicas <= self.replication_factor:
            raise ValueError(
                f"{self.name}: min.insync.replicas {self.min_insync_replicas} must be between"
                f" 1 and the replication factor {self.replication_factor}"
            )
        if self.retention_ms < 1 and self.retention_ms != -1:
            raise ValueError(f"{self.name}: retention.ms must be > 0 or -1 (forever)")

    def configs(self) -> dict[str, str]:
        """The topic configs `apply` sets, as Kafka spells them."""
        return {
            MIN_INSYNC_REPLICAS: str(self.min_insync_replicas),
            RETENTION_MS: str(self.retention_ms),
            CLEANUP_POLICY: self.cleanup_policy,
        }


def _item(name: str) -> TopicSpec:
    return TopicSpec(name, ITEM_PARTITIONS, REPLICATION_FACTOR, MIN_INSYNC, 7 * DAY_MS)


def _control(name: str) -> TopicSpec:
    return TopicSpec(
        name, CONTROL_PARTITIONS, REPLICATION_FACTOR, MIN_INSYNC, 30 * DAY_MS, role="control"
    )


def _dlq(spec: TopicSpec) -> TopicSpec:
    return dataclasses.replace(
        spec,
        name=topics.dlq(spec.name),
        partitions=DLQ_PARTITIONS,
        retention_ms=30 * DAY_MS,
        role="dlq",
    )


_MAIN = {name: _item(name) for name in ITEM_PATH} | {name: _control(name) for name in CONTROL}
if set(_MAIN) != set(topics.ALL):  # pragma: no cover - a topic added without a spec
    raise RuntimeError(f"topics without a spec: {sorted(set(topics.ALL) - set(_MAIN))}")

# Every topic of the platform, in topics.ALL order, then their dead-letter topics.
SPECS: tuple[TopicSpec, ...] = (
    *(_MAIN[name] for name in topics.ALL),
    *(_dlq(_MAIN[name]) for name in topics.ALL),
)
BY_NAME = {spec.name: spec for spec in SPECS}


def spec(name: str) -> TopicSpec:
    return BY_NAME[name]


def names(specs: Iterable[TopicSpec] = SPECS) -> list[str]:
    return [s.name for s in specs]


def for_cluster(broker_count: int, specs: Iterable[TopicSpec] = SPECS) -> tuple[TopicSpec, ...]:
    """`specs` on a cluster of `broker_count` brokers: replication capped to the brokers,
    min.insync.replicas to max(1, replication - 1) (one broker may be down and writes go on).
    With as many brokers as the declaration's replication factor, `specs` unchanged."""
    if broker_count < 1:
        raise ValueError(f"a cluster has at least one broker, not {broker_count}")
    out = []
    for s in specs:
        rf = min(s.replication_factor, broker_count)
        min_isr = min(s.min_insync_replicas, max(1, rf - 1))
        out.append(dataclasses.replace(s, replication_factor=rf, min_insync_replicas=min_isr))
    return tuple(out)


def with_item_partitions(
    partitions: int, specs: Iterable[TopicSpec] = SPECS
) -> tuple[TopicSpec, ...]:
    """`specs` with the item-path topics at `partitions` (an environment's consumer ceiling);
    control and dead-letter topics keep theirs."""
    return tuple(
        dataclasses.replace(s, partitions=partitions) if s.role == "item" else s for s in specs
    )


def describe_retention(ms: int) -> str:
    if ms == -1:
        return "forever"
    if ms % DAY_MS == 0:
        return f"{ms // DAY_MS}d"
    if ms % HOUR_MS == 0:
        return f"{ms // HOUR_MS}h"
    return f"{ms}ms"


def markdown_table(specs: Iterable[TopicSpec] = SPECS) -> str:
    """The declaration as a Markdown table (docs/deploy.md's "Topics")."""
    rows = [
        "| Topic | Role | Partitions | Replication | min.insync.replicas | Retention | Cleanup |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in specs:
        rows.append(
            f"| `{s.name}` | {s.role} | {s.partitions} | {s.replication_factor} |"
            f" {s.min_insync_replicas} | {describe_retention(s.retention_ms)} |"
            f" {s.cleanup_policy} |"
        )
    return "\n".join(rows) + "\n"
