"""Back-pressure and load, short version of `mitl chaos` (20 s instead of minutes): a stream
at the pipeline's measured capacity, with consumer lag sampled from the broker and every
service's memory from /proc. Nothing is lost or doubled, and lag, latency and memory are
measured and printed. Whether memory is flat is judged on the full run (`make chaos`, see
docs/reliability.md): 20 s are mostly start-up allocations, and no figure is asserted on."""

from __future__ import annotations

import asyncio
import io

import pytest
from mitl_cli.chaos.lab import Lab
from mitl_cli.chaos.load import LoadPlan, measure_capacity, run_load
from mitl_cli.chaos.report import ScenarioResult
from mitl_cli.stack import SERVICES

pytestmark = pytest.mark.e2e
SECONDS = 20.0


BURST = 100


async def sustained(lab: Lab) -> tuple[ScenarioResult, ScenarioResult]:
    await lab.open()
    try:
        capacity, burst = await measure_capacity(lab, "load-test", BURST, rest_timeout_s=180)
        plan = LoadPlan(rate=capacity, seconds=SECONDS, rest_timeout_s=180)
        return burst, await run_load(lab, "load-test", plan, capacity)
    finally:
        await lab.close()


def test_a_stream_at_capacity_loses_nothing_and_is_measured(lab: Lab) -> None:
    burst, result = asyncio.run(sustained(lab))
    print(burst.as_json(), result.as_json())
    # The capacity burst (as fast as the client can send) first: nothing lost or doubled.
    assert burst.census.items_in == BURST, burst.as_json()
    assert (burst.lost, burst.duplicated) == (0, 0), burst.census.reasons()
    assert burst.census.labels_out == burst.census.decisions == BURST
    assert burst.details["capacity_items_per_s"] > 0
    assert isinstance(lab.progress.stream, io.StringIO)
    shown = lab.progress.stream.getvalue()
    assert f"capacity: settled [####################] {BURST}/{BURST} items" in shown
    assert (result.lost, result.duplicated) == (0, 0), result.census.reasons()
    assert result.census.labels_out == result.census.items_in > 0
    details = result.details
    assert details["lag"]["samples"] >= 5
    assert details["decision_latency_ms"]["p50"] is not None
    memory = details["memory"]
    assert set(memory) == set(SERVICES)
    assert all(m["rss_start_mb"] and m["rss_end_mb"] for m in memory.values())
