"""What a crash scenario does to the running platform: `prepare` sets the stage before the
stream starts (scale a service out), `inject` breaks something, `heal` puts it back and
returns once everything it affected answers /readyz again.

The broker is a fault target too: Apache Kafka keeps its data on disk, so a node killed with
SIGKILL starts again on the same data directory with every topic, offset and committed
consumer position it had acknowledged. Services are never restarted for a broker fault: they
must ride through it (their clients reconnect), and while it lasts their /readyz says they
are not ready (`watch_readiness`: the harness polls it during the outage).
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mitl_runtime.kafka_server import wait_until_answers

from mitl_cli.stack import replica_name

if TYPE_CHECKING:
    from mitl_cli.chaos.lab import Lab

BROKER_START_TIMEOUT_S = 300.0
# Services a load balancer or an operator would look at while the broker is away.
READINESS_WATCHED = ("ingest", "inference", "router", "review-api", "audit")


class Fault(Protocol):
    # Poll the services' /readyz between inject and heal (they should say "not ready").
    watch_readiness: bool

    def describe(self) -> str: ...
    async def prepare(self, lab: Lab) -> None: ...
    async def inject(self, lab: Lab) -> None: ...
    async def heal(self, lab: Lab) -> None: ...


@dataclass(frozen=True)
class KillService:
    """SIGKILL one service's process (no shutdown code runs), then start a new one."""

    service: str
    watch_readiness = False

    def describe(self) -> str:
        return f"SIGKILL {self.service}, then start it again"

    async def prepare(self, lab: Lab) -> None:
        return None

    async def inject(self, lab: Lab) -> None:
        await asyncio.to_thread(lab.stack.kill, self.service, signal.SIGKILL)

    async def heal(self, lab: Lab) -> None:
        lab.stack.spawn(self.service)
        await asyncio.to_thread(lab.stack.wait_ready, (self.service,))


@dataclass(frozen=True)
class RestartPostgres:
    """Crash the run's own PostgreSQL server (immediate stop: every backend dies at once, so
    every open transaction of every service is cut), then start it again (WAL recovery)."""

    watch_readiness = False

    def describe(self) -> str:
        return "crash PostgreSQL (pg_ctl -m immediate), then start it again"

    async def prepare(self, lab: Lab) -> None:
        return None

    async def inject(self, lab: Lab) -> None:
        await asyncio.to_thread(lab.postgres.crash)

    async def heal(self, lab: Lab) -> None:
        await asyncio.to_thread(lab.postgres.restart_after_crash)
        await asyncio.to_thread(lab.stack.wait_ready)


def broker_back(lab: Lab) -> None:
    """Until the broker answers a metadata request, then until every service is ready again
    (the same processes: nothing is restarted)."""
    wait_until_answers(lab.bootstrap, timeout=BROKER_START_TIMEOUT_S)
    lab.stack.wait_ready(timeout=300.0)


@dataclass(frozen=True)
class KillBroker:
    """SIGKILL the Apache Kafka node (no shutdown code runs: what it had not flushed, its log
    recovery handles), then start it again on the same data directory and ports."""

    watch_readiness = True

    def describe(self) -> str:
        return "SIGKILL the broker, then start it again on the same data directory"

    async def prepare(self, lab: Lab) -> None:
        lab.kafka  # noqa: B018 - fails early on the stand-in, which keeps nothing

    async def inject(self, lab: Lab) -> None:
        await asyncio.to_thread(lab.kafka.kill)

    async def heal(self, lab: Lab) -> None:
        # The same data directory and ports (LocalKafka.restart), with more patience than its
        # default: a JVM starting on a busy 2-core machine took over a minute to bind.
        await asyncio.to_thread(lab.kafka.start, BROKER_START_TIMEOUT_S)
        await asyncio.to_thread(broker_back, lab)


@dataclass(frozen=True)
class PauseBroker:
    """SIGSTOP the Apache Kafka node (it answers nothing, but connections stay open and no
    client sees a refusal), then SIGCONT it. Every consumer session expires meanwhile."""

    watch_readiness = True

    def describe(self) -> str:
        return "SIGSTOP the broker, then SIGCONT it"

    async def prepare(self, lab: Lab) -> None:
        lab.kafka  # noqa: B018

    async def inject(self, lab: Lab) -> None:
        lab.kafka.pause()

    async def heal(self, lab: Lab) -> None:
        lab.kafka.resume()
        await asyncio.to_thread(broker_back, lab)


@dataclass(frozen=True)
class KillReplicas:
    """Scale `services` out to `replicas` processes each (one consumer group per service and
    topic, so the partitions are spread over the replicas), then SIGKILL the last replica of
    each at once. Nothing starts them again: the groups rebalance and the survivors take over
    their partitions (and the feeder its ingest traffic)."""

    services: tuple[str, ...]
    replicas: int = 2
    watch_readiness = False

    def describe(self) -> str:
        names = ", ".join(self.services)
        return f"{self.replicas} replicas each of {names}; SIGKILL one of each, no restart"

    def victims(self) -> list[str]:
        return [replica_name(service, self.replicas) for service in self.services]

    async def prepare(self, lab: Lab) -> None:
        started = [
            name
            for service in self.services
            for name in lab.stack.scale(service, self.replicas, wait=False)
        ]
        await asyncio.to_thread(lab.stack.wait_ready, tuple(started), 300.0)

    async def inject(self, lab: Lab) -> None:
        for name in self.victims():
            await asyncio.to_thread(lab.stack.retire, name, signal.SIGKILL)

    async def heal(self, lab: Lab) -> None:
        survivors = tuple(n for s in self.services for n in lab.stack.replica_names(s))
        await asyncio.to_thread(lab.stack.wait_ready, survivors)
