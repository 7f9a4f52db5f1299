"""Back-pressure and load: first the pipeline's capacity, then a sustained stream at it.

Capacity: a burst of items POSTed as fast as ingest takes them; capacity is items over the
time from the first POST until all of them are at rest (decided, reviewed by the bots where
needed, audited): what the whole loop sustains, the human side included.
Sustained: items streamed at `rate` for `seconds`, sampling consumer lag (from the broker) and
every service's RSS (from /proc) as it runs; afterwards each item's latency is its routing
decision's time minus the time it was sent (one machine, one clock). Memory growth is the
slope of RSS over items sent, in MB per 1,000 items, over the samples after the first quarter
of the stream (start-up allocations are not growth).
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from mitl_cli.chaos.evidence import decision_times
from mitl_cli.chaos.feeder import Feeder
from mitl_cli.chaos.identity import check_alive
from mitl_cli.chaos.lab import Lab
from mitl_cli.chaos.memory import MemoryTrack, slope_per_thousand
from mitl_cli.chaos.report import ScenarioResult
from mitl_cli.chaos.settle import at_rest, until_rest
from mitl_cli.chaos.workload import workload

BURST_BATCH = 100
WARM_UP_SHARE = 0.25


@dataclass(frozen=True)
class LoadPlan:
    rate: float
    seconds: float
    sample_s: float = 2.0
    rest_timeout_s: float = 900.0


def growth_per_minute(points: list[tuple[float, float]]) -> float | None:
    slope = slope_per_thousand(points)  # per 1,000 seconds
    return None if slope is None else round(slope * 60 / 1000, 1)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1)]


async def measure_capacity(
    lab: Lab, run_id: str, items: int, rest_timeout_s: float = 900.0
) -> tuple[float, ScenarioResult]:
    """The rate the whole loop sustains: a burst's items over the time from its first POST
    until every one of them is at rest (decided, labeled by the reviewers, audited). The
    rate of routing decisions alone is higher, but a stream at that rate outruns the human
    side and the backlog grows; it is reported beside."""
    burst = workload(run_id, "capacity", items, topic_share=0.0)
    started = time.monotonic()
    sent = lab.progress.phase("capacity: sent", "items")
    log = await Feeder(
        lab.url("ingest"),
        lab.bootstrap,
        burst,
        0.0,
        BURST_BATCH,
        progress=sent,
        headers=lab.stack.ingest_headers,
    ).run()
    acknowledged = sorted(log.acknowledged)
    decided_at = None
    deadline = time.monotonic() + rest_timeout_s
    while decided_at is None and time.monotonic() < deadline:
        check_alive(lab.stack)
        if len(await decision_times(lab.database_url, acknowledged)) >= len(acknowledged):
            decided_at = time.monotonic()
        else:
            await asyncio.sleep(0.2)
    settled = lab.progress.phase("capacity: settled", "items")
    rested_at = await until_rest(lab, acknowledged, rest_timeout_s, settled)
    capacity = len(acknowledged) / ((rested_at or time.monotonic()) - started)
    census = await at_rest(lab, acknowledged, rest_timeout_s)
    details: dict[str, object] = {"capacity_items_per_s": round(capacity, 1)}
    if decided_at is not None:
        rate = len(acknowledged) / (decided_at - started)
        details["decision_throughput_items_per_s"] = round(rate, 1)
    return capacity, ScenarioResult("capacity", census, None, details)


async def run_load(lab: Lab, run_id: str, plan: LoadPlan, capacity: float) -> ScenarioResult:
    items = workload(run_id, "load", max(1, int(plan.rate * plan.seconds)))
    sent = lab.progress.phase("load: sent", "items")
    feeder = Feeder(
        lab.url("ingest"),
        lab.bootstrap,
        items,
        plan.rate,
        progress=sent,
        headers=lab.stack.ingest_headers,
    )
    memory = MemoryTrack()
    lags: list[int] = []
    lag_points: list[tuple[float, float]] = []
    started = time.monotonic()
    feeding = asyncio.create_task(feeder.run())
    while not feeding.done():
        lags.append((await lab.lag.sample()).total)
        lag_points.append((time.monotonic() - started, float(lags[-1])))
        memory.record(len(feeder.log.acknowledged), lab.pids())
        await asyncio.sleep(plan.sample_s)
    log = await feeding
    streamed_s = time.monotonic() - started
    settled = lab.progress.phase("load: settled", "items")
    census = await at_rest(lab, sorted(log.acknowledged), plan.rest_timeout_s, settled)
    decided = await decision_times(lab.database_url, sorted(log.acknowledged))
    latencies = [(decided[i] - log.sent_at[i]) * 1000 for i in decided if i in log.sent_at]
    return ScenarioResult(
        scenario="load",
        census=census,
        recovery_s=None,
        details={
            "capacity_items_per_s": round(capacity, 1),
            "rate_items_per_s": round(plan.rate, 1),
            "achieved_items_per_s": round(log.sent / streamed_s, 1),
            "stream_s": round(streamed_s, 1),
            "lag": {
                "max": max(lags, default=0),
                "mean": round(sum(lags) / len(lags), 1) if lags else 0,
                "end": lags[-1] if lags else 0,
                "samples": len(lags),
                # Messages per minute the backlog grew by (least squares): near 0 is a
                # stream the pipeline keeps up with; steadily positive, one it does not.
                "growth_per_min": growth_per_minute(lag_points),
            },
            "decision_latency_ms": {
                f"p{q}": None if (v := percentile(latencies, q)) is None else round(v, 1)
                for q in (50, 95, 99, 100)
            },
            "memory": memory.summary(WARM_UP_SHARE),
        },
    )
