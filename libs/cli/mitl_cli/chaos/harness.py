"""One crash scenario end to end: set the stage (`prepare`), stream the items at a steady
rate; a third of the way in, inject the fault, leave it broken for `down_s`, heal it; time
the recovery; let everything come to rest; count, and check each item's events for order.

Recovery is the time from the fault until the platform has caught up: whatever the fault
affected answers /readyz again and total consumer lag is back to what it was just before
the fault (plus one feeding batch, the noise of a steady stream).

For a fault whose services should ride through it (the broker's), their /readyz is polled
while it lasts: `readyz_saw_outage` says whether every one watched answered "not ready" at
least once, and `services_restarted` names any service process that is not the one that was
running before the fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from mitl_cli.chaos.faults import READINESS_WATCHED
from mitl_cli.chaos.feeder import Feeder
from mitl_cli.chaos.lab import Lab
from mitl_cli.chaos.order import check_order, read_streams
from mitl_cli.chaos.report import ScenarioResult
from mitl_cli.chaos.scenarios import Scenario
from mitl_cli.chaos.settle import at_rest, caught_up
from mitl_cli.chaos.workload import workload

FEED_BATCH = 25
READYZ_POLL_S = 0.5
# Longer than a service's own broker check (2 s), so that a paused broker shows as an answer.
READYZ_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class CrashPlan:
    items: int
    rate: float
    down_s: float = 3.0
    fault_at: float = 1 / 3
    recovery_timeout_s: float = 600.0
    rest_timeout_s: float = 900.0


@dataclass
class ReadinessWatch:
    """Polls /readyz of `urls` (service -> URL) until stopped, counting each kind of answer."""

    urls: dict[str, str]
    answers: dict[str, Counter[str]] = field(default_factory=dict)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def start(self) -> ReadinessWatch:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=READYZ_TIMEOUT_S) as client:
            while not self._stop.is_set():
                await asyncio.gather(*(self._poll(client, n, u) for n, u in self.urls.items()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), READYZ_POLL_S)

    async def _poll(self, client: httpx.AsyncClient, name: str, url: str) -> None:
        seen = self.answers.setdefault(name, Counter())
        try:
            response = await client.get(f"{url}/readyz")
        except httpx.HTTPError as error:
            seen[f"no answer ({type(error).__name__})"] += 1
            return
        seen["ready" if response.status_code == 200 else "not ready"] += 1

    @property
    def saw_outage(self) -> bool:
        return bool(self.answers) and all(c["not ready"] > 0 for c in self.answers.values())

    def summary(self) -> dict[str, dict[str, int]]:
        return {name: dict(counts) for name, counts in sorted(self.answers.items())}


async def run_crash(lab: Lab, run_id: str, scenario: Scenario, plan: CrashPlan) -> ScenarioResult:
    fault = scenario.fault
    await fault.prepare(lab)
    items = workload(run_id, scenario.name, plan.items)
    milestone = int(plan.items * plan.fault_at)
    ingest = lab.stack.urls("ingest")
    sent = lab.progress.phase(f"{scenario.name}: sent", "items")
    feeder = Feeder(
        ingest,
        lab.bootstrap,
        items,
        plan.rate,
        FEED_BATCH,
        milestone,
        sent,
        headers=lab.stack.ingest_headers,
    )
    started = time.monotonic()
    reviewed_before = lab.reviewers.totals()
    feeding = asyncio.create_task(feeder.run())
    await feeder.reached.wait()
    baseline = (await lab.lag.sample()).total
    pids_before = lab.pids()
    fault_at = time.monotonic()
    await fault.inject(lab)
    watch = None
    if fault.watch_readiness:
        watched = {name: lab.url(name) for name in READINESS_WATCHED if name in lab.stack.ports}
        watch = ReadinessWatch(watched).start()
    await asyncio.sleep(plan.down_s)
    await fault.heal(lab)
    ready_s = time.monotonic() - fault_at
    if watch is not None:
        await watch.stop()
    pids_after = lab.pids()
    restarted = sorted(n for n, pid in pids_before.items() if pids_after.get(n, pid) != pid)
    recovery_s = await caught_up(lab, baseline + FEED_BATCH, fault_at, plan.recovery_timeout_s)
    log = await feeding
    acknowledged = sorted(log.acknowledged)
    settled = lab.progress.phase(f"{scenario.name}: settled", "items")
    census = await at_rest(lab, acknowledged, plan.rest_timeout_s, settled)
    order = check_order(acknowledged, await read_streams(lab.bootstrap, acknowledged))
    details: dict[str, object] = {
        "fault": fault.describe(),
        "items_sent": log.sent,
        "rejected": len(log.rejected),
        "client_retries": log.retries,
        "client_failures": dict(log.failures),
        "rate_items_per_s": round(plan.rate, 1),
        "down_s": plan.down_s,
        "ready_s": round(ready_s, 1),
        "duration_s": round(time.monotonic() - started, 1),
        "reviewers": lab.reviewers.totals(since=reviewed_before),
        "services_restarted": restarted,
        "events_checked_for_order": order.events,
    }
    if watch is not None:
        details["readyz_saw_outage"] = watch.saw_outage
        details["readyz_during_outage"] = watch.summary()
    if gone := sorted(pids_before.keys() - pids_after.keys()):
        details["replicas_killed"] = gone
        details["replicas_left"] = sorted(pids_after)
    return ScenarioResult(
        scenario=scenario.name, census=census, recovery_s=recovery_s, details=details, order=order
    )
