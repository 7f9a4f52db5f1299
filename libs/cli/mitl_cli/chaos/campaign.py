"""A chaos run on a started lab: the capacity burst (a fault-free baseline), then the chosen
scenarios in order, each crash stream at a share of the measured capacity and the load run at
the capacity itself. Every result is handed to `emit` as soon as it is known, with the audit
chain verified after it and the broker named (`broker`, e.g. "apache-kafka 4.4.0")."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from mitl_cli.chaos.harness import CrashPlan, run_crash
from mitl_cli.chaos.lab import Lab
from mitl_cli.chaos.load import LoadPlan, measure_capacity, run_load
from mitl_cli.chaos.report import ScenarioResult
from mitl_cli.chaos.scenarios import CRASHES, LOAD
from mitl_cli.surfaces import audit_chain


@dataclass(frozen=True)
class CampaignPlan:
    scenarios: list[str]
    items: int = 5000
    capacity_items: int = 1000
    load_seconds: float = 240.0
    down_s: float = 3.0
    # Per scenario, how long its fault lasts instead (e.g. pause-broker's pause); else the
    # scenario's own length (scenarios.Scenario.down_s), else `down_s`.
    scenario_down_s: dict[str, float] = field(default_factory=dict)
    # Crash streams run below capacity, so that recovery (catching up) is measurable.
    crash_load: float = 0.6
    # Crash streams at this many items/s instead, and no capacity burst unless the load run
    # needs one (the short tests: the burst is the slow part of a run with few items).
    crash_rate: float | None = None
    # Longest wait for a scenario's items to come to rest; what is missing then is lost.
    rest_timeout_s: float = 900.0


async def run_campaign(
    lab: Lab, plan: CampaignPlan, emit: Callable[[ScenarioResult], None]
) -> list[ScenarioResult]:
    run_id = uuid.uuid4().hex[:6]
    results: list[ScenarioResult] = []

    async def done(result: ScenarioResult) -> None:
        result.details["broker"] = lab.broker_description
        result.details["audit_chain"] = await audit_chain(lab.database_url)
        results.append(result)
        emit(result)

    await lab.open()
    try:
        capacity = 0.0
        if plan.crash_rate is None or LOAD in plan.scenarios:
            capacity, baseline = await measure_capacity(
                lab, run_id, plan.capacity_items, plan.rest_timeout_s
            )
            await done(baseline)
        for name in plan.scenarios:
            if name == LOAD:
                load = LoadPlan(capacity, plan.load_seconds, rest_timeout_s=plan.rest_timeout_s)
                await done(await run_load(lab, run_id, load, capacity))
            else:
                scenario = CRASHES[name]
                down_s = plan.scenario_down_s.get(name, scenario.down_s)
                crash = CrashPlan(
                    plan.items,
                    rate=plan.crash_rate or capacity * plan.crash_load,
                    down_s=plan.down_s if down_s is None else down_s,
                    recovery_timeout_s=plan.rest_timeout_s,
                    rest_timeout_s=plan.rest_timeout_s,
                )
                await done(await run_crash(lab, run_id, scenario, crash))
    finally:
        await lab.close()
    return results
