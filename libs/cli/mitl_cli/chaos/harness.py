"""One crash scenario end to end: stream the items at a steady rate; a third of the way in,
inject the fault, leave it broken for `down_s`, heal it; time the recovery; let everything
come to rest; count.

Recovery is the time from the fault until the platform has caught up: whatever the fault
affected answers /readyz again and total consumer lag is back to what it was just before
the fault (plus one feeding batch, the noise of a steady stream).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from mitl_cli.chaos.feeder import Feeder
from mitl_cli.chaos.lab import Lab
from mitl_cli.chaos.report import ScenarioResult
from mitl_cli.chaos.scenarios import Scenario
from mitl_cli.chaos.settle import at_rest, caught_up
from mitl_cli.chaos.workload import workload

FEED_BATCH = 25


@dataclass(frozen=True)
class CrashPlan:
    items: int
    rate: float
    down_s: float = 3.0
    fault_at: float = 1 / 3
    recovery_timeout_s: float = 600.0
    rest_timeout_s: float = 900.0


async def run_crash(lab: Lab, run_id: str, scenario: Scenario, plan: CrashPlan) -> ScenarioResult:
    items = workload(run_id, scenario.name, plan.items)
    milestone = int(plan.items * plan.fault_at)
    feeder = Feeder(lab.url("ingest"), lab.bootstrap, items, plan.rate, FEED_BATCH, milestone)
    started = time.monotonic()
    reviewed_before = lab.reviewers.totals()
    feeding = asyncio.create_task(feeder.run())
    await feeder.reached.wait()
    baseline = (await lab.lag.sample()).total
    fault_at = time.monotonic()
    await scenario.fault.inject(lab)
    await asyncio.sleep(plan.down_s)
    await scenario.fault.heal(lab)
    ready_s = time.monotonic() - fault_at
    recovery_s = await caught_up(lab, baseline + FEED_BATCH, fault_at, plan.recovery_timeout_s)
    log = await feeding
    census = await at_rest(lab, sorted(log.acknowledged), plan.rest_timeout_s)
    return ScenarioResult(
        scenario=scenario.name,
        census=census,
        recovery_s=recovery_s,
        details={
            "fault": scenario.fault.describe(),
            "items_sent": log.sent,
            "rejected": len(log.rejected),
            "client_retries": log.retries,
            "client_failures": dict(log.failures),
            "rate_items_per_s": round(plan.rate, 1),
            "down_s": plan.down_s,
            "ready_s": round(ready_s, 1),
            "duration_s": round(time.monotonic() - started, 1),
            "reviewers": lab.reviewers.totals(since=reviewed_before),
        },
    )
