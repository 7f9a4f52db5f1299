"""`mitl topics apply`: read a cluster, plan (topic_plan) and carry the plan out.

The admin client is built from `kafka_clients.client_options`, like every other client, so
the cluster's security settings apply here too. Creation, new partitions and config changes
are each checked afterwards: a broker's metadata can lag the controller for a moment, so the
applier reads the cluster again until the touched topics match (or `verify_timeout` passes).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from mitl_contracts.topic_specs import MANAGED_CONFIGS, TopicSpec

from mitl_runtime.kafka_clients import client_options
from mitl_runtime.settings import ServiceSettings
from mitl_runtime.topic_plan import (
    Action,
    AlterConfigs,
    Create,
    ExistingTopic,
    Plan,
    RaisePartitions,
    plan,
)

# DescribeConfigs' config_source: a value set on the topic itself (the rest are broker-wide
# or defaults). AlterConfigs replaces a topic's whole set of these, so an alteration sends
# the ones it does not manage along unchanged.
DYNAMIC_TOPIC_CONFIG = 1

Status = Literal["created", "raised", "altered", "unchanged", "refused", "failed", "planned"]


@dataclass(frozen=True)
class Outcome:
    topic: str
    status: Status
    detail: str

    def line(self) -> str:
        return f"{self.topic}: {self.status}" + (f": {self.detail}" if self.detail else "")


@dataclass
class Report:
    bootstrap: str
    brokers: int
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(o.status in ("refused", "failed") for o in self.outcomes)

    @property
    def changed(self) -> bool:
        return any(o.status in ("created", "raised", "altered", "planned") for o in self.outcomes)

    def of(self, topic: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.topic == topic]

    def lines(self) -> list[str]:
        out = [o.line() for o in self.outcomes]
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o.status] = counts.get(o.status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in counts.items())
        verb = "would change" if self.dry_run else "applied"
        if not self.changed and self.ok:
            verb = "nothing to do"
        out.append(f"{self.bootstrap} ({self.brokers} broker(s)): {verb}; {summary}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "bootstrap": self.bootstrap,
            "brokers": self.brokers,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "changed": self.changed,
            "topics": [
                {"topic": o.topic, "status": o.status, "detail": o.detail} for o in self.outcomes
            ],
        }


@dataclass(frozen=True)
class ClusterState:
    brokers: int
    topics: dict[str, ExistingTopic]
    # Per topic, every config set on the topic itself (managed or not).
    overrides: dict[str, dict[str, str]]


def admin_client(settings: ServiceSettings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**client_options(settings), client_id="mitl-topics")


def error_text(code: int, message: str | None) -> str:
    return f"{for_code(code).__name__}" + (f": {message}" if message else "")


async def read_cluster(admin: AIOKafkaAdminClient, names: Sequence[str]) -> ClusterState:
    """Brokers, and the partitions, replication and configs of those of `names` that exist.
    All topics are listed (never a metadata request naming a missing topic, which a broker
    with auto-creation on would answer by creating it)."""
    cluster = await admin.describe_cluster()
    brokers = len(cluster.get("brokers") or ())
    wanted = set(names)
    found: dict[str, tuple[int, int]] = {}
    for t in await admin.describe_topics():
        if t["topic"] not in wanted or t["error_code"]:
            continue
        partitions = t["partitions"]
        rf = max((len(p["replicas"]) for p in partitions), default=0)
        found[t["topic"]] = (len(partitions), rf)
    configs: dict[str, dict[str, str]] = {name: {} for name in found}
    overrides: dict[str, dict[str, str]] = {name: {} for name in found}
    if found:
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in found]
        for response in await admin.describe_configs(resources):
            for resource in response.to_object()["resources"]:
                name = resource["resource_name"]
                if resource["error_code"]:
                    raise KafkaError(
                        f"describe configs of {name}: "
                        + error_text(resource["error_code"], resource["error_message"])
                    )
                for entry in resource["config_entries"]:
                    key, value = entry["config_names"], entry["config_value"]
                    if key in MANAGED_CONFIGS and value is not None:
                        configs[name][key] = value
                    source = entry.get("config_source")
                    dynamic = (
                        source == DYNAMIC_TOPIC_CONFIG
                        if source is not None
                        else not entry.get("is_default", True)
                    )
                    if dynamic and value is not None and not entry.get("is_sensitive"):
                        overrides[name][key] = value
    topics = {
        name: ExistingTopic(name, partitions, rf, configs[name])
        for name, (partitions, rf) in found.items()
    }
    return ClusterState(brokers, topics, overrides)


async def create(admin: AIOKafkaAdminClient, creates: Sequence[Create]) -> list[Outcome]:
    new = [
        NewTopic(
            a.spec.name,
            a.spec.partitions,
            a.spec.replication_factor,
            topic_configs=a.spec.configs(),
        )
        for a in creates
    ]
    try:
        response = await admin.create_topics(new)
    except KafkaError as e:
        return [Outcome(a.topic, "failed", f"{a.describe()}: {e}") for a in creates]
    errors = {entry[0]: entry for entry in response.topic_errors}
    out = []
    for a in creates:
        entry = errors.get(a.topic)
        code = entry[1] if entry else 0
        # Created meanwhile by someone else: the check afterwards compares it with the spec.
        if code and code != TopicAlreadyExistsError.errno:
            message = entry[2] if entry is not None and len(entry) > 2 else None
            out.append(Outcome(a.topic, "failed", f"{a.describe()}: {error_text(code, message)}"))
        else:
            out.append(Outcome(a.topic, "created", a.describe().removeprefix("create: ")))
    return out


async def execute(
    admin: AIOKafkaAdminClient, actions: Sequence[Action], state: ClusterState
) -> list[Outcome]:
    out: list[Outcome] = []
    creates = [a for a in actions if isinstance(a, Create)]
    if creates:
        out += await create(admin, creates)
    for action in actions:
        if isinstance(action, RaisePartitions):
            try:
                await admin.create_partitions({action.topic: NewPartitions(action.target)})
            except KafkaError as e:
                out.append(Outcome(action.topic, "failed", f"{action.describe()}: {e}"))
            else:
                out.append(Outcome(action.topic, "raised", action.describe()))
        elif isinstance(action, AlterConfigs):
            # Everything set on the topic, with the managed values replaced: AlterConfigs
            # resets what it is not sent.
            configs = {**state.overrides.get(action.topic, {}), **action.declared}
            resource = ConfigResource(ConfigResourceType.TOPIC, action.topic, configs)
            failure = None
            try:
                for response in await admin.alter_configs([resource]):
                    for r in response.to_object()["resources"]:
                        if r["error_code"]:
                            failure = error_text(r["error_code"], r["error_message"])
            except KafkaError as e:  # e.g. a broker without AlterConfigs (the stand-in)
                failure = str(e)
            if failure:
                out.append(Outcome(action.topic, "failed", f"{action.describe()}: {failure}"))
            else:
                out.append(Outcome(action.topic, "altered", action.describe()))
    return out


async def settle(admin: AIOKafkaAdminClient, specs: Sequence[TopicSpec], timeout: float) -> Plan:
    """Read the cluster until `specs` need nothing more (or `timeout`); the last plan."""
    deadline = time.monotonic() + timeout
    while True:
        state = await read_cluster(admin, [s.name for s in specs])
        remaining = plan(specs, state.topics, state.brokers)
        if not remaining.actions or time.monotonic() > deadline:
            return remaining
        await asyncio.sleep(0.2)


async def verify(
    admin: AIOKafkaAdminClient,
    specs: Sequence[TopicSpec],
    outcomes: list[Outcome],
    timeout: float,
) -> list[Outcome]:
    """`outcomes` checked against the cluster once it settled. An action that failed because
    a concurrent apply (another pod's init container) did the same first counts as done."""
    acted = {o.topic for o in outcomes}
    if not acted:
        return outcomes
    left = await settle(admin, [s for s in specs if s.name in acted], timeout)
    pending = {a.topic for a in left.actions} | {r.topic for r in left.refusals}
    failed = {o.topic for o in outcomes if o.status == "failed"}
    out = [
        Outcome(o.topic, "unchanged", f"done meanwhile by another run ({o.detail})")
        if o.status == "failed" and o.topic not in pending
        else o
        for o in outcomes
    ]
    out += [Outcome(r.topic, "refused", r.message) for r in left.refusals]
    out += [
        Outcome(a.topic, "failed", f"not in effect after {timeout:g}s: {a.describe()}")
        for a in left.actions
        if a.topic not in failed
    ]
    return out


async def apply(
    settings: ServiceSettings,
    specs: Sequence[TopicSpec],
    *,
    dry_run: bool = False,
    verify_timeout: float = 15.0,
) -> Report:
    """Make the cluster of `settings` match `specs`; what was done and refused, per topic."""
    admin = admin_client(settings)
    await admin.start()
    try:
        state = await read_cluster(admin, [s.name for s in specs])
        todo = plan(specs, state.topics, state.brokers)
        report = Report(settings.kafka_bootstrap_servers, state.brokers, dry_run)
        if dry_run:
            outcomes = [Outcome(a.topic, "planned", a.describe()) for a in todo.actions]
        else:
            outcomes = await execute(admin, todo.actions, state)
            outcomes = await verify(admin, specs, outcomes, verify_timeout)
        outcomes += [Outcome(r.topic, "refused", r.message) for r in todo.refusals]
        outcomes += [Outcome(name, "unchanged", "") for name in todo.unchanged]
        order = {s.name: i for i, s in enumerate(specs)}
        report.outcomes = sorted(outcomes, key=lambda o: order.get(o.topic, len(order)))
        return report
    finally:
        await admin.close()
