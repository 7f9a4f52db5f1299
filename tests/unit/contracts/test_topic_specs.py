"""The topic declaration: every contract topic once, with its dead-letter topic."""

from __future__ import annotations

from pathlib import Path

import pytest
from mitl_contracts import topic_specs, topics
from mitl_contracts.topic_specs import TopicSpec


def test_every_topic_and_its_dead_letter_topic_is_declared_once() -> None:
    names = topic_specs.names()
    assert sorted(names) == sorted([*topics.ALL, *(topics.dlq(t) for t in topics.ALL)])
    assert len(set(names)) == len(names)


def test_production_defaults() -> None:
    for spec in topic_specs.SPECS:
        assert (spec.replication_factor, spec.min_insync_replicas) == (3, 2)
        assert spec.cleanup_policy == "delete"
    for name in topic_specs.ITEM_PATH:
        assert topic_specs.spec(name).partitions == 6
        dlq = topic_specs.spec(topics.dlq(name))
        assert dlq.partitions <= 6
        assert dlq.retention_ms > topic_specs.spec(name).retention_ms


@pytest.mark.parametrize(("brokers", "rf", "min_isr"), [(1, 1, 1), (2, 2, 1), (3, 3, 2), (5, 3, 2)])
def test_for_cluster_caps_replication_and_min_isr(brokers: int, rf: int, min_isr: int) -> None:
    scaled = topic_specs.for_cluster(brokers)
    assert {(s.replication_factor, s.min_insync_replicas) for s in scaled} == {(rf, min_isr)}
    assert [s.partitions for s in scaled] == [s.partitions for s in topic_specs.SPECS]


def test_item_partitions_override_leaves_control_and_dead_letter_topics() -> None:
    specs = topic_specs.with_item_partitions(12)
    by_name = {s.name: s for s in specs}
    assert by_name[topics.ITEMS_RAW].partitions == 12
    assert by_name[topics.MODELS].partitions == topic_specs.CONTROL_PARTITIONS
    assert by_name[topics.dlq(topics.ITEMS_RAW)].partitions == topic_specs.DLQ_PARTITIONS


def test_invalid_specs_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"min\.insync\.replicas"):
        TopicSpec("x", 1, 1, 2, 1000)
    with pytest.raises(ValueError, match="partitions"):
        TopicSpec("x", 0, 1, 1, 1000)
    with pytest.raises(ValueError):
        topic_specs.for_cluster(0)


def test_the_deploy_docs_table_is_current() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "deploy.md").read_text()
    assert topic_specs.markdown_table() in doc, (
        "docs/deploy.md's topics table is not current: paste topic_specs.markdown_table()"
    )
