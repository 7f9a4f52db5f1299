"""The whole platform as local processes: a broker (Apache Kafka, or the embedded stand-in),
Postgres, every service.

Used by `mitl run`, the end-to-end tests, the benchmarks and the chaos runs. Each service runs
as its own process (`python -m <package>`), configured only through MITL_* environment
variables, as it would be in a container.

A service may run as several replicas (`replicas`, or `scale()` while running): the first is
named after the service (`router`), the others `router#2`, `router#3`, ...; each has a port of
its own and the same environment otherwise, so every replica joins the same consumer groups
and the broker spreads the partitions over them. `processes`, `ports`, `url()`, `spawn()`,
`kill()` take these replica names; a service's own name is its first replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import httpx
from mitl_runtime.localinfra import (
    BrokerKind,
    LocalBrokerProcess,
    LocalPostgres,
    broker_settings,
    create_database,
    drop_database,
    free_port,
    resolve_postgres,
    start_local_broker,
)

from mitl_cli.surfaces import ingest_client_key

# service name -> (package run with -m, default port)
SERVICES: dict[str, tuple[str, int]] = {
    "ingest": ("mitl_ingest", 8001),
    "inference": ("mitl_inference", 8002),
    "router": ("mitl_router", 8003),
    "review-api": ("mitl_review", 8004),
    "audit": ("mitl_audit", 8005),
    "drift-monitor": ("mitl_drift", 8006),
    "trainer": ("mitl_trainer", 8007),
}
REPLICA_MARK = "#"
# The ingest client the local stack's own tools post as (`mitl clients`), with limits that no
# benchmark reaches; a restart on the same database gives it a new key.
DEV_CLIENT = "local-dev"
DEV_CLIENT_OPTIONS = ("--all-datasets", "--rate", "100000", "--burst", "100000")

log = logging.getLogger(__name__)


# The line a Python traceback ends with: "package.module.SomeError: what went wrong".
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)\w*: \S")


class ServiceExited(RuntimeError):
    """A service of the stack stopped before it was ready; the message says why."""


def exit_message(name: str, returncode: int, log_path: Path) -> str:
    """Why replica `name` stopped, for the person who ran the stack: its exit code, the last
    exception its log names (a refused configuration says what to change there), and the
    log to read for the rest."""
    reason = ""
    with contextlib.suppress(OSError):
        lines = log_path.read_text(errors="replace").splitlines()[-400:]
        reason = next((line for line in reversed(lines) if EXCEPTION_LINE.match(line)), "")
    told = f": {reason}" if reason else ""
    return f"{name} exited with {returncode}{told}\n(see {log_path})"


def service_of(replica: str) -> str:
    """The service a replica belongs to: `router#2` -> `router` (and `router` -> `router`)."""
    return replica.partition(REPLICA_MARK)[0]


def replica_name(service: str, index: int) -> str:
    """The name of a service's `index`-th replica (1-based): the first is the service's own."""
    return service if index == 1 else f"{service}{REPLICA_MARK}{index}"


class StartsAndStops(ABC):
    """`with` starts it and stops it at the end; a start that fails stops what it started."""

    @abstractmethod
    def start(self) -> Self: ...

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class LocalStack(StartsAndStops):
    workdir: Path
    datasets_file: Path
    database: str = "mitl"
    fresh_database: bool = False
    drop_database_on_stop: bool = False
    fixed_ports: bool = True
    services: tuple[str, ...] = tuple(SERVICES)
    extra_env: dict[str, str] = field(default_factory=dict)
    # Processes per service (1 if not named here).
    replicas: dict[str, int] = field(default_factory=dict)
    broker_kind: BrokerKind = "kafka"
    broker: LocalBrokerProcess | None = None
    postgres: LocalPostgres | None = None
    database_url: str = ""
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Credentials of this stack: the static tokens every guarded service is started with
    # (MITL_ADMIN_TOKEN, MITL_AUDITOR_TOKEN), made fresh per stack, and the key of the ingest
    # client DEV_CLIENT, made at start when ingest is one of the services.
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    auditor_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    ingest_key: str = ""

    @property
    def ingest_headers(self) -> dict[str, str]:
        """What a client of ingest sends: the dev client's key."""
        return {"Authorization": f"Bearer {self.ingest_key}"}

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    @property
    def auditor_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.auditor_token}"}

    def url(self, service: str) -> str:
        """A replica's URL (a service's name is its first replica)."""
        return f"http://127.0.0.1:{self.ports[service]}"

    def replica_names(self, service: str | None = None) -> list[str]:
        """The replicas running (or meant to) of `service`, or of every service, in order."""
        return [name for name in self.ports if service is None or service_of(name) == service]

    def urls(self, service: str) -> list[str]:
        return [self.url(name) for name in self.replica_names(service)]

    def env(self, service: str) -> dict[str, str]:
        assert self.broker is not None
        return {
            **os.environ,
            "MITL_KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap,
            "MITL_DATABASE_URL": self.database_url,
            "MITL_DATASETS_FILE": str(self.datasets_file),
            "MITL_HTTP_HOST": "127.0.0.1",
            "MITL_HTTP_PORT": str(self.ports[service]),
            # Stable per replica (inference names its own model-promotions group after it);
            # a replica's name "inference#2" becomes "inference-2" (ids allow [A-Za-z0-9._-]).
            "MITL_REPLICA_ID": service.replace(REPLICA_MARK, "-"),
            "MITL_KAFKA_SESSION_TIMEOUT_MS": "2000",
            "MITL_KAFKA_HEARTBEAT_INTERVAL_MS": "300",
            "MITL_LOG_LEVEL": "INFO",
            **broker_settings(self.broker_kind),
            "MITL_ADMIN_TOKEN": self.admin_token,
            "MITL_AUDITOR_TOKEN": self.auditor_token,
            **self.extra_env,
        }

    def start(self) -> LocalStack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.broker is None:
            self.broker = start_local_broker(self.broker_kind, self.workdir)
        self.postgres = asyncio.run(resolve_postgres(self.workdir / "pgdata"))
        self.database_url = asyncio.run(
            create_database(self.postgres.url, self.database, recreate=self.fresh_database)
        )
        names = [
            replica_name(service, index)
            for service in self.services
            for index in range(1, self.replicas.get(service, 1) + 1)
        ]
        if "ingest" in self.services:
            self.ingest_key = asyncio.run(
                ingest_client_key(self.database_url, DEV_CLIENT, *DEV_CLIENT_OPTIONS)
            )
        self.ports = self.allocate_ports(names)
        for name in names:
            self.spawn(name)
        self.wait_ready()
        return self

    def allocate_ports(self, names: list[str]) -> dict[str, int]:
        """Fixed ports (a service's first replica only; the others get free ones), or
        distinct free ones: the OS may hand the same free port out twice when it is asked
        before anything binds it."""
        ports: dict[str, int] = {}
        for name in names:
            if self.fixed_ports and name in SERVICES:
                ports[name] = SERVICES[name][1]
                continue
            port = free_port()
            while port in ports.values() or port in self.ports.values():
                port = free_port()
            ports[name] = port
        return ports

    def scale(
        self, service: str, count: int, timeout: float = 120.0, *, wait: bool = True
    ) -> list[str]:
        """Run `count` replicas of `service`: start the missing ones (and, with `wait`, wait
        until they are ready) or stop (SIGTERM) the last ones; return the replicas' names."""
        running = self.replica_names(service)
        wanted = [replica_name(service, index) for index in range(1, count + 1)]
        new = [name for name in wanted if name not in running]
        self.ports.update(self.allocate_ports(new))
        for name in new:
            self.spawn(name)
        for name in running:
            if name not in wanted:
                self.retire(name, signal.SIGTERM)
        if wait:
            self.wait_ready(tuple(new), timeout)
        return wanted

    def retire(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Stop replica `name` with `sig` and forget it (nothing starts it again)."""
        self.kill(name, sig)
        self.processes.pop(name, None)
        self.ports.pop(name, None)

    def spawn(self, name: str) -> None:
        """Start replica `name` (`router`, `router#2`, ...) on its port."""
        log = open(self.workdir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", SERVICES[service_of(name)][0]],
            env=self.env(name),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, names: tuple[str, ...] | None = None, timeout: float = 120.0) -> None:
        """Until every replica named (every one running if None) answers /readyz with 200."""
        pending = set(self.processes if names is None else names)
        deadline = time.monotonic() + timeout
        while pending:
            for name in list(pending):
                process = self.processes[name]
                if process.poll() is not None:
                    log_path = self.workdir / f"{name}.log"
                    raise ServiceExited(exit_message(name, process.returncode, log_path))
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    health = httpx.get(f"{self.url(name)}/healthz", timeout=1).json()
                    # The process on the port must be this service, not another that won it.
                    if health.get("service") != service_of(name):
                        continue
                    if httpx.get(f"{self.url(name)}/readyz", timeout=1).status_code == 200:
                        pending.discard(name)
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout}s: {sorted(pending)}")
            time.sleep(0.2)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[name]
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:  # a SIGTERM not answered in 30 s
                process.kill()
                process.wait()

    def restart(self, name: str) -> None:
        self.kill(name)
        self.spawn(name)
        self.wait_ready((name,))

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.broker:
            self.broker.stop()
        if self.postgres:
            if self.drop_database_on_stop:
                try:
                    asyncio.run(drop_database(self.postgres.url, self.database))
                except OSError as error:
                    # The server is gone (it crashed, or something stopped it): there is no
                    # database left to drop, and stopping must still release the rest.
                    log.warning(
                        "cannot drop %s, its server is unreachable: %s", self.database, error
                    )
            self.postgres.stop()
