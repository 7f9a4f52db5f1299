"""What `mitl topics apply` would do: declared topic specs against what a cluster has.

Pure: no I/O. Kafka can add partitions and change topic configs in place, but cannot take
partitions away or change a topic's replication factor without a reassignment; those are
refused, with the topic and both numbers named, and a refused topic is otherwise left alone
(e.g. min.insync.replicas 2 on a topic with one replica would stop every acks=all write).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mitl_contracts.topic_specs import (
    CLEANUP_POLICY,
    MANAGED_CONFIGS,
    MIN_INSYNC_REPLICAS,
    RETENTION_MS,
    TopicSpec,
)


@dataclass(frozen=True)
class ExistingTopic:
    """A topic as the cluster has it: `configs` holds (at least) the managed configs'
    effective values."""

    name: str
    partitions: int
    replication_factor: int
    configs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Create:
    spec: TopicSpec

    @property
    def topic(self) -> str:
        return self.spec.name

    def describe(self) -> str:
        s = self.spec
        return (
            f"create: {s.partitions} partitions, replication {s.replication_factor}, "
            f"min.insync.replicas {s.min_insync_replicas}, retention.ms {s.retention_ms}, "
            f"cleanup.policy {s.cleanup_policy}"
        )


@dataclass(frozen=True)
class RaisePartitions:
    topic: str
    current: int
    target: int

    def describe(self) -> str:
        return f"raise partitions {self.current} -> {self.target}"


@dataclass(frozen=True)
class AlterConfigs:
    topic: str
    # config name -> (current effective value or None, declared value)
    changes: Mapping[str, tuple[str | None, str]]
    declared: Mapping[str, str]

    def describe(self) -> str:
        return "alter configs " + ", ".join(
            f"{k} {old} -> {new}" for k, (old, new) in sorted(self.changes.items())
        )


Action = Create | RaisePartitions | AlterConfigs


@dataclass(frozen=True)
class Refusal:
    topic: str
    message: str


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    refusals: tuple[Refusal, ...]
    unchanged: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.actions and not self.refusals


def same_config(key: str, current: str | None, declared: str) -> bool:
    if current is None:
        return False
    if key == CLEANUP_POLICY:
        # "compact,delete" and "delete,compact" are one policy.
        return sorted(p.strip() for p in current.split(",")) == sorted(declared.split(","))
    if key in (RETENTION_MS, MIN_INSYNC_REPLICAS):
        try:
            return int(current) == int(declared)
        except ValueError:
            return False
    return current == declared


def config_changes(spec: TopicSpec, existing: ExistingTopic) -> dict[str, tuple[str | None, str]]:
    declared = spec.configs()
    return {
        key: (existing.configs.get(key), declared[key])
        for key in MANAGED_CONFIGS
        if not same_config(key, existing.configs.get(key), declared[key])
    }


def plan(
    specs: Iterable[TopicSpec],
    existing: Mapping[str, ExistingTopic],
    broker_count: int | None = None,
) -> Plan:
    """Actions that make `existing` match `specs`, refusals for what they cannot; topics the
    specs do not name are not looked at. With `broker_count`, a topic to create that needs
    more replicas than there are brokers is refused rather than sent to fail."""
    actions: list[Action] = []
    refusals: list[Refusal] = []
    unchanged: list[str] = []
    for spec in specs:
        have = existing.get(spec.name)
        if have is None:
            if broker_count is not None and spec.replication_factor > broker_count:
                refusals.append(
                    Refusal(
                        spec.name,
                        f"{spec.name}: cannot create with replication factor "
                        f"{spec.replication_factor}: the cluster has {broker_count} "
                        f"broker(s) (scale the declaration to the cluster: --brokers "
                        f"{broker_count})",
                    )
                )
            else:
                actions.append(Create(spec))
            continue
        refused = False
        if have.partitions > spec.partitions:
            refused = True
            refusals.append(
                Refusal(
                    spec.name,
                    f"{spec.name}: has {have.partitions} partitions, {spec.partitions} declared;"
                    " Kafka cannot remove partitions (recreate the topic, or declare "
                    f"{have.partitions})",
                )
            )
        if have.replication_factor != spec.replication_factor:
            refused = True
            refusals.append(
                Refusal(
                    spec.name,
                    f"{spec.name}: has replication factor {have.replication_factor}, "
                    f"{spec.replication_factor} declared; change it with a partition "
                    "reassignment (kafka-reassign-partitions.sh), not here",
                )
            )
        if refused:
            continue
        before = len(actions)
        if have.partitions < spec.partitions:
            actions.append(RaisePartitions(spec.name, have.partitions, spec.partitions))
        if changes := config_changes(spec, have):
            actions.append(AlterConfigs(spec.name, changes, spec.configs()))
        if len(actions) == before:
            unchanged.append(spec.name)
    return Plan(tuple(actions), tuple(refusals), tuple(unchanged))
