"""The whole platform as local processes: a broker (Apache Kafka, or the embedded stand-in),
Postgres, every service.

Used by `mitl run`, the end-to-end tests and the benchmarks. Each service runs as its own
process (`python -m <package>`), configured only through MITL_* environment variables, as it
would be in a container.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from mitl_runtime.localinfra import (
    BrokerKind,
    LocalBrokerProcess,
    LocalPostgres,
    create_database,
    drop_database,
    free_port,
    resolve_postgres,
    start_local_broker,
)

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


@dataclass
class LocalStack:
    workdir: Path
    datasets_file: Path
    database: str = "mitl"
    fresh_database: bool = False
    drop_database_on_stop: bool = False
    fixed_ports: bool = True
    services: tuple[str, ...] = tuple(SERVICES)
    extra_env: dict[str, str] = field(default_factory=dict)
    broker_kind: BrokerKind = "kafka"
    broker: LocalBrokerProcess | None = None
    postgres: LocalPostgres | None = None
    database_url: str = ""
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self, service: str) -> dict[str, str]:
        assert self.broker is not None
        return {
            **os.environ,
            "MITL_KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap,
            "MITL_DATABASE_URL": self.database_url,
            "MITL_DATASETS_FILE": str(self.datasets_file),
            "MITL_HTTP_HOST": "127.0.0.1",
            "MITL_HTTP_PORT": str(self.ports[service]),
            "MITL_KAFKA_SESSION_TIMEOUT_MS": "2000",
            "MITL_KAFKA_HEARTBEAT_INTERVAL_MS": "300",
            "MITL_LOG_LEVEL": "INFO",
            # The embedded stand-in does not take idempotent producers.
            "MITL_KAFKA_ENABLE_IDEMPOTENCE": str(self.broker_kind == "kafka").lower(),
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
        self.ports = self.allocate_ports()
        for name in self.services:
            self.spawn(name)
        self.wait_ready()
        return self

    def allocate_ports(self) -> dict[str, int]:
        """Fixed ports, or distinct free ones: the OS may hand the same free port out twice
        when it is asked before anything binds it."""
        if self.fixed_ports:
            return {name: SERVICES[name][1] for name in self.services}
        ports: dict[str, int] = {}
        while len(ports) < len(self.services):
            port = free_port()
            if port not in ports.values():
                ports[self.services[len(ports)]] = port
        return ports

    def spawn(self, name: str) -> None:
        log = open(self.workdir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", SERVICES[name][0]],
            env=self.env(name),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, names: tuple[str, ...] | None = None, timeout: float = 120.0) -> None:
        pending = set(names or self.services)
        deadline = time.monotonic() + timeout
        while pending:
            for name in list(pending):
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}; see {self.workdir / name}.log"
                    )
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    health = httpx.get(f"{self.url(name)}/healthz", timeout=1).json()
                    # The process on the port must be this service, not another that won it.
                    if health.get("service") != name:
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
            process.wait(30)

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
                asyncio.run(drop_database(self.postgres.url, self.database))
            self.postgres.stop()

    def __enter__(self) -> LocalStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
