"""The topic planner: declared specs against what a cluster has, no broker."""

from __future__ import annotations

from mitl_contracts import topic_specs
from mitl_contracts.topic_specs import TopicSpec
from mitl_runtime.topic_plan import (
    AlterConfigs,
    Create,
    ExistingTopic,
    RaisePartitions,
    plan,
)

SPEC = TopicSpec("t.v1", 6, 3, 2, 7 * topic_specs.DAY_MS)
DLQ = TopicSpec("t.v1.dlq", 3, 3, 2, 30 * topic_specs.DAY_MS, role="dlq")


def existing(
    spec: TopicSpec,
    partitions: int | None = None,
    replication_factor: int | None = None,
    configs: dict[str, str] | None = None,
) -> ExistingTopic:
    """`spec` as a cluster has it, but for what is given."""
    return ExistingTopic(
        spec.name,
        spec.partitions if partitions is None else partitions,
        spec.replication_factor if replication_factor is None else replication_factor,
        spec.configs() if configs is None else configs,
    )


def test_nothing_exists_creates_every_topic_with_its_configs() -> None:
    result = plan(topic_specs.SPECS, {})
    assert [a.topic for a in result.actions] == topic_specs.names()
    assert all(isinstance(a, Create) for a in result.actions)
    assert not result.refusals and not result.unchanged
    create = result.actions[0]
    assert isinstance(create, Create)
    assert create.spec.configs() == {
        "min.insync.replicas": "2",
        "retention.ms": str(7 * topic_specs.DAY_MS),
        "cleanup.policy": "delete",
    }


def test_fewer_partitions_are_raised() -> None:
    result = plan([SPEC], {SPEC.name: existing(SPEC, partitions=4)})
    assert result.actions == (RaisePartitions(SPEC.name, 4, 6),)
    assert not result.refusals


def test_more_partitions_are_refused_naming_the_topic_and_both_counts() -> None:
    result = plan([SPEC, DLQ], {SPEC.name: existing(SPEC, partitions=12), DLQ.name: existing(DLQ)})
    assert not result.actions
    [refusal] = result.refusals
    assert refusal.topic == SPEC.name
    assert SPEC.name in refusal.message
    assert "12" in refusal.message and "6" in refusal.message
    assert result.unchanged == (DLQ.name,)


def test_another_replication_factor_is_refused_and_the_topic_left_alone() -> None:
    # min.insync.replicas 2 on a topic with one replica would stop every acks=all write.
    have = existing(SPEC, replication_factor=1, partitions=4, configs={"min.insync.replicas": "1"})
    result = plan([SPEC], {SPEC.name: have})
    assert not result.actions
    [refusal] = result.refusals
    assert SPEC.name in refusal.message
    assert "replication factor 1" in refusal.message and "3 declared" in refusal.message


def test_a_matching_cluster_needs_nothing() -> None:
    specs = topic_specs.for_cluster(1)
    first = plan(specs, {})
    assert len(first.actions) == len(specs)
    after = {s.name: existing(s) for s in specs}
    again = plan(specs, after)
    assert again.empty
    assert again.unchanged == tuple(topic_specs.names(specs))


def test_config_drift_is_altered_and_only_what_differs_is_named() -> None:
    have = existing(
        SPEC,
        configs={
            "min.insync.replicas": "1",
            "retention.ms": "604800000",
            "cleanup.policy": "compact",
        },
    )
    [action] = plan([SPEC], {SPEC.name: have}).actions
    assert isinstance(action, AlterConfigs)
    assert action.changes == {
        "min.insync.replicas": ("1", "2"),
        "cleanup.policy": ("compact", "delete"),
    }
    assert action.declared == SPEC.configs()


def test_fewer_partitions_and_config_drift_together() -> None:
    have = existing(SPEC, partitions=2, configs={**SPEC.configs(), "retention.ms": "1000"})
    actions = plan([SPEC], {SPEC.name: have}).actions
    assert [type(a) for a in actions] == [RaisePartitions, AlterConfigs]


def test_equivalent_config_spellings_are_no_drift() -> None:
    spec = TopicSpec("c.v1", 1, 1, 1, 1000, cleanup_policy="compact")
    have = existing(
        spec,
        configs={"min.insync.replicas": "1", "retention.ms": "01000", "cleanup.policy": " compact"},
    )
    assert plan([spec], {spec.name: have}).empty


def test_a_missing_topic_needing_more_brokers_than_the_cluster_has_is_refused() -> None:
    result = plan([SPEC], {}, broker_count=1)
    assert not result.actions
    [refusal] = result.refusals
    assert SPEC.name in refusal.message and "--brokers 1" in refusal.message
    assert [type(a) for a in plan(topic_specs.for_cluster(1, [SPEC]), {}, 1).actions] == [Create]


def test_topics_not_declared_are_not_looked_at() -> None:
    other = ExistingTopic("someone.else", 100, 1, {})
    assert plan([SPEC], {"someone.else": other}).actions == (Create(SPEC),)
