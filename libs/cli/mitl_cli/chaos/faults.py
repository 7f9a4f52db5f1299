"""What a crash scenario does to the running platform: `inject` breaks something, `heal` puts it
back and returns once everything it affected answers /readyz again.

The broker is never a fault target: Tansu keeps topics in memory, so restarting it loses
every topic, which no consumer could survive (the guarantee assumes a durable Kafka).
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mitl_cli.chaos.lab import Lab


class Fault(Protocol):
    def describe(self) -> str: ...
    async def inject(self, lab: Lab) -> None: ...
    async def heal(self, lab: Lab) -> None: ...


@dataclass(frozen=True)
class KillService:
    """SIGKILL one service's process (no shutdown code runs), then start a new one."""

    service: str

    def describe(self) -> str:
        return f"SIGKILL {self.service}, then start it again"

    async def inject(self, lab: Lab) -> None:
        await asyncio.to_thread(lab.stack.kill, self.service, signal.SIGKILL)

    async def heal(self, lab: Lab) -> None:
        lab.stack.spawn(self.service)
        await asyncio.to_thread(lab.stack.wait_ready, (self.service,))


@dataclass(frozen=True)
class RestartPostgres:
    """Crash the run's own PostgreSQL server (immediate stop: every backend dies at once, so
    every open transaction of every service is cut), then start it again (WAL recovery)."""

    def describe(self) -> str:
        return "crash PostgreSQL (pg_ctl -m immediate), then start it again"

    async def inject(self, lab: Lab) -> None:
        await asyncio.to_thread(lab.postgres.crash)

    async def heal(self, lab: Lab) -> None:
        await asyncio.to_thread(lab.postgres.restart_after_crash)
        await asyncio.to_thread(lab.stack.wait_ready)
