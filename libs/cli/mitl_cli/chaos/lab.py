"""Everything a chaos run needs, started and stopped together: the run's own PostgreSQL server,
the broker (Apache Kafka by default, its data on disk so that it can be killed and started
again), every service as its own process (LocalStack, free ports, a fresh database), the
simulated reviewers and the lag probe.

Every topic of the item's path has at least `PARTITIONS` partitions before any service starts
(as declared in topic_specs; raised here if a broker kept fewer), so that two replicas of a
service each get a share of every such topic they consume (kill-replicas).

`start()` and `stop()` are synchronous (LocalStack runs its own event loops); `open()` and
`close()` bring up, inside the caller's loop, what lives there (bots, lag probe).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions
from mitl_contracts.topic_specs import ITEM_PATH
from mitl_runtime.kafka_server import LocalKafka
from mitl_runtime.localinfra import BrokerKind, start_local_broker
from mitl_runtime.progress import Progress

from mitl_cli.chaos.bots import Reviewers
from mitl_cli.chaos.identity import ensure_identities
from mitl_cli.chaos.lag import LagProbe
from mitl_cli.chaos.postgres import OwnPostgres, scratch_root
from mitl_cli.chaos.workload import chaos_datasets_yaml
from mitl_cli.stack import SERVICES, LocalStack, StartsAndStops

DATABASE = "mitl_chaos"
# One model for the whole run: a model promoted mid-stream re-scores waiting items and the
# router decides them again under the new version, by design; that would blur "one decision
# per item". The trainer still runs (and is killed in its scenario), it just never trains.
FROZEN_MODEL = {"MITL_RETRAIN_EVERY": "1000000000", "MITL_MIN_LABELS": "1000000000"}
PARTITIONS = 6


async def ensure_partitions(bootstrap: str, topics: Iterable[str], count: int) -> list[str]:
    """Give every topic of `topics` with fewer than `count` partitions `count` of them; return
    the topics that grew. Done before anything produces, so no key changes partition later."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
        short = {
            meta["topic"]: NewPartitions(count)
            for meta in described
            if len(meta["partitions"]) < count
        }
        if short:
            await admin.create_partitions(short)
    finally:
        await admin.close()
    return sorted(short)


@contextlib.contextmanager
def environment(name: str, value: str) -> Iterator[None]:
    """`name` set to `value` for the block (resolve_postgres reads MITL_DATABASE_URL)."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


@dataclass
class Lab(StartsAndStops):
    workdir: Path
    model_dir: Path
    annotators: int = 4
    experts: int = 2
    services: tuple[str, ...] = tuple(SERVICES)
    extra_env: dict[str, str] = field(default_factory=dict)
    broker_kind: BrokerKind = "kafka"
    # Where each scenario's items stand (sent, settled), on stderr; off unless asked for.
    progress: Progress = field(default_factory=lambda: Progress(enabled=False))
    _postgres: OwnPostgres | None = None
    _stack: LocalStack | None = None
    _reviewers: Reviewers | None = None
    _lag: LagProbe | None = None

    @property
    def postgres(self) -> OwnPostgres:
        assert self._postgres is not None, "the lab is not started"
        return self._postgres

    @property
    def stack(self) -> LocalStack:
        assert self._stack is not None, "the lab is not started"
        return self._stack

    @property
    def reviewers(self) -> Reviewers:
        assert self._reviewers is not None, "the lab is not open"
        return self._reviewers

    @property
    def lag(self) -> LagProbe:
        assert self._lag is not None, "the lab is not open"
        return self._lag

    @property
    def database_url(self) -> str:
        return self.stack.database_url

    @property
    def bootstrap(self) -> str:
        assert self.stack.broker is not None
        return self.stack.broker.bootstrap

    @property
    def broker_description(self) -> str:
        assert self.stack.broker is not None
        return self.stack.broker.description

    @property
    def kafka(self) -> LocalKafka:
        """The Apache Kafka node (the broker faults need one: the stand-in keeps no data)."""
        broker = self.stack.broker
        if not isinstance(broker, LocalKafka):
            raise RuntimeError("broker faults need Apache Kafka (the lab runs the stand-in)")
        return broker

    def url(self, service: str) -> str:
        return self.stack.url(service)

    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.stack.processes.items()}

    def start(self) -> Lab:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._postgres = OwnPostgres(scratch_root()).start()
        datasets = self.workdir / "datasets.yaml"
        datasets.write_text(chaos_datasets_yaml(str(self.model_dir)))
        services_dir = self.workdir / "services"
        services_dir.mkdir(parents=True, exist_ok=True)
        broker = start_local_broker(self.broker_kind, services_dir)
        if self.broker_kind == "kafka":
            try:
                asyncio.run(ensure_partitions(broker.bootstrap, ITEM_PATH, PARTITIONS))
            except BaseException:
                broker.stop()
                raise
        self._stack = LocalStack(
            broker=broker,
            broker_kind=self.broker_kind,
            workdir=services_dir,
            datasets_file=datasets,
            database=DATABASE,
            fresh_database=True,
            fixed_ports=False,
            services=self.services,
            extra_env={
                "MITL_ARTIFACT_DIR": str(self.workdir / "artifacts"),
                **FROZEN_MODEL,
                **self.extra_env,
            },
        )
        with environment("MITL_DATABASE_URL", self._postgres.url):
            self._stack.start()
        ensure_identities(self._stack)
        return self

    async def open(self) -> Lab:
        self._reviewers = await Reviewers.create(self.database_url, self.annotators, self.experts)
        self._reviewers.start(self.url("review-api"))
        self._lag = await LagProbe(self.bootstrap).start()
        return self

    async def close(self) -> None:
        if self._reviewers is not None:
            await self._reviewers.stop()
        if self._lag is not None:
            await self._lag.close()

    def stop(self) -> None:
        """Stop everything; the logs stay in the workdir (PostgreSQL's too), the database
        files do not."""
        if self._stack is not None:
            self._stack.stop()
        if self._postgres is not None:
            self._postgres.stop()
            server_log = self._postgres.root / "postgres.log"
            if server_log.exists():
                shutil.copy(server_log, self.workdir / "postgres.log")
            self._postgres.remove()
