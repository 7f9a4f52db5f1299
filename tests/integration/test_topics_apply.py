"""`mitl topics apply` on the real broker. The applier runs against specs of this module's
own topics (unique names), so the other tests' topics are not touched, and once as the real
command against the session's topics, which must already match (start_local_broker applied
them): a second apply has nothing to do."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from mitl_contracts import topic_specs
from mitl_contracts.topic_specs import DAY_MS, TopicSpec
from mitl_runtime.settings import ServiceSettings
from mitl_runtime.topic_admin import apply

from tests.support import eventually

pytestmark = pytest.mark.integration

MITL = Path(sys.executable).parent / "mitl"


def spec(name: str, partitions: int, rf: int = 1, retention_ms: int = DAY_MS) -> TopicSpec:
    return TopicSpec(name, partitions, rf, 1, retention_ms)


async def by_hand(bootstrap: str, *topics: NewTopic) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics(list(topics))
        assert all(code == 0 for _, code, *_ in response.topic_errors), response
        # Until the broker's metadata has them (it can lag the controller a moment).
        expected = {t.name: t.num_partitions for t in topics}

        async def visible() -> bool:
            described = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics()}
            return all(described.get(name) == n for name, n in expected.items())

        await eventually(visible, timeout=10)
    finally:
        await admin.close()


async def topic_state(bootstrap: str, name: str) -> tuple[int, dict[str, str]]:
    """Partitions and configs, as the broker has them now."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = [t for t in await admin.describe_topics() if t["topic"] == name]
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        [resource] = response.to_object()["resources"]
        configs = {e["config_names"]: e["config_value"] for e in resource["config_entries"]}
        return len(described["partitions"]), configs
    finally:
        await admin.close()


async def test_apply_creates_raises_alters_and_refuses(kafka: str) -> None:
    prefix = f"test.apply.{uuid.uuid4().hex[:8]}"
    missing, fewer, more, other_rf, drifted = (
        f"{prefix}.{n}" for n in ("missing", "fewer", "more", "rf", "drift")
    )
    await by_hand(
        kafka,
        NewTopic(fewer, 2, 1),
        NewTopic(more, 5, 1),
        NewTopic(other_rf, 1, 1),
        NewTopic(drifted, 2, 1, topic_configs={"retention.ms": "1000", "segment.ms": "3600000"}),
    )
    specs = [
        spec(missing, 3),
        spec(fewer, 4),
        spec(more, 3),
        spec(other_rf, 1, rf=2),
        spec(drifted, 2, retention_ms=2 * DAY_MS),
    ]
    settings = ServiceSettings(kafka_bootstrap_servers=kafka)

    dry = await apply(settings, specs, dry_run=True)
    assert {o.topic: o.status for o in dry.outcomes if o.status != "refused"} == {
        missing: "planned",
        fewer: "planned",
        drifted: "planned",
    }
    assert (await topic_state(kafka, fewer))[0] == 2  # a dry run changes nothing

    report = await apply(settings, specs)
    assert not report.ok
    statuses = {(o.topic, o.status) for o in report.outcomes}
    assert statuses == {
        (missing, "created"),
        (fewer, "raised"),
        (fewer, "altered"),  # made with the broker's default retention, 7 days
        (more, "refused"),
        (other_rf, "refused"),
        (drifted, "altered"),
    }
    [refused_more] = report.of(more)
    assert more in refused_more.detail and "5 partitions" in refused_more.detail
    assert "3 declared" in refused_more.detail
    [refused_rf] = report.of(other_rf)
    assert other_rf in refused_rf.detail
    assert "replication factor 1" in refused_rf.detail and "2 declared" in refused_rf.detail

    partitions, configs = await topic_state(kafka, missing)
    assert partitions == 3
    assert (configs["retention.ms"], configs["cleanup.policy"]) == (str(DAY_MS), "delete")
    assert (await topic_state(kafka, fewer))[0] == 4
    assert (await topic_state(kafka, more))[0] == 5  # refused: left as it is
    _, configs = await topic_state(kafka, drifted)
    assert configs["retention.ms"] == str(2 * DAY_MS)
    assert configs["segment.ms"] == "3600000"  # a config apply does not manage is kept

    # Idempotent: what could be applied was; the refusals stay.
    again = await apply(settings, specs)
    assert {(o.topic, o.status) for o in again.outcomes} == {
        (missing, "unchanged"),
        (fewer, "unchanged"),
        (more, "refused"),
        (other_rf, "refused"),
        (drifted, "unchanged"),
    }
    matching = [s for s in specs if s.name not in (more, other_rf)]
    final = await apply(settings, matching)
    assert final.ok and not final.changed


async def test_concurrent_applies_both_succeed(kafka: str) -> None:
    """Every pod's init container applies: two at once must not fail each other."""
    prefix = f"test.apply.{uuid.uuid4().hex[:8]}"
    raised, created = f"{prefix}.raised", f"{prefix}.created"
    await by_hand(kafka, NewTopic(raised, 1, 1, topic_configs={"retention.ms": str(DAY_MS)}))
    specs = [spec(raised, 4), spec(created, 2)]
    settings = ServiceSettings(kafka_bootstrap_servers=kafka)
    first, second = await asyncio.gather(apply(settings, specs), apply(settings, specs))
    assert first.ok and second.ok, first.lines() + second.lines()
    assert (await topic_state(kafka, raised))[0] == 4
    assert (await topic_state(kafka, created))[0] == 2


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MITL), "topics", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_command_is_idempotent_on_the_session_broker(kafka: str) -> None:
    first = run_cli("apply", "--bootstrap", kafka, "--brokers", "1")
    assert first.returncode == 0, first.stdout + first.stderr
    second = run_cli("apply", "--bootstrap", kafka, "--brokers", "1", "--json")
    assert second.returncode == 0, second.stdout + second.stderr
    report = json.loads(second.stdout)
    assert report["ok"] and not report["changed"]
    assert {t["topic"] for t in report["topics"]} == set(topic_specs.names())
    assert {t["status"] for t in report["topics"]} == {"unchanged"}
    # The former name is the same command.
    alias = run_cli("create", "--bootstrap", kafka, "--brokers", "1")
    assert alias.returncode == 0 and "nothing to do" in alias.stdout, alias.stdout


def test_the_production_declaration_is_refused_on_one_broker(kafka: str) -> None:
    """Unscaled (replication 3) against the one-node session broker: every topic refused,
    by name, with both replication factors, and nothing changed."""
    result = run_cli("apply", "--bootstrap", kafka, "--dry-run")
    assert result.returncode == 1
    for name in topic_specs.names():
        assert f"{name}: refused: {name}: has replication factor 1, 3 declared" in result.stdout
