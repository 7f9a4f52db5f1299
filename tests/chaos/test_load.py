"""Back-pressure and load, short version of `mitl chaos` (30 s instead of minutes): a stream
at the pipeline's measured capacity, with consumer lag sampled from the broker and every
service's memory from /proc. Nothing is lost or doubled, and lag, latency and memory are
measured and printed. Whether memory is flat is judged on the full run (`make chaos`, see
docs/reliability.md): 30 s are mostly start-up allocations, and no figure is asserted on."""

from __future__ import annotations

import asyncio

import pytest
from mitl_cli.chaos.lab import Lab
from mitl_cli.chaos.load import LoadPlan, measure_capacity, run_load
from mitl_cli.chaos.report import ScenarioResult
from mitl_cli.stack import SERVICES

pytestmark = pytest.mark.e2e
SECONDS = 30.0


async def sustained(lab: Lab) -> ScenarioResult:
    await lab.open()
    try:
        capacity, _ = await measure_capacity(lab, "load-test", 150, rest_timeout_s=180)
        plan = LoadPlan(rate=capacity, seconds=SECONDS, rest_timeout_s=180)
        return await run_load(lab, "load-test", plan, capacity)
    finally:
        await lab.close()


def test_a_stream_at_capacity_loses_nothing_and_is_measured(lab: Lab) -> None:
    result = asyncio.run(sustained(lab))
    print(result.as_json())
    assert (result.lost, result.duplicated) == (0, 0), result.census.reasons()
    assert result.census.labels_out == result.census.items_in > 0
    details = result.details
    assert details["lag"]["samples"] >= 5
    assert details["decision_latency_ms"]["p50"] is not None
    memory = details["memory"]
    assert set(memory) == set(SERVICES)
    assert all(m["rss_start_mb"] and m["rss_end_mb"] for m in memory.values())
