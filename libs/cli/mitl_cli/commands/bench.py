"""`mitl bench <name>`: benchmarks that start what they need, measure, print their figures and
stop everything again. Figures live here, never in timed test assertions.

Each benchmark is a module `mitl_cli/bench_<name>.py` exposing `register(subparsers)`, which
adds its parser under `mitl bench` and sets `func` (returns an exit code). Adding such a
module adds the subcommand: nothing here changes. A service's benchmark comes the same way
through the `mitl.benchmarks` entry points (mitl_cli.plugins). The small helpers below (percentiles,
process memory, output) are shared by the benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import math
import os
import pkgutil
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from mitl_contracts import topics
from mitl_runtime.progress import Progress
from mitl_runtime.settings import ServiceSettings

import mitl_cli
from mitl_cli import plugins

PREFIX = "bench_"
# The services' fetch wait on the item path on Apache Kafka (ServiceSettings
# .kafka_fetch_max_wait_ms; localinfra.item_fetch_max_wait_ms gives the embedded stand-in's);
# the benchmarks' own readers use it too.
FETCH_MAX_WAIT_MS: int = ServiceSettings.model_fields["kafka_fetch_max_wait_ms"].default
# The topics between a POST and its decision, in order (Decisions with `hops`).
HOP_TOPICS = (topics.ITEMS_INGESTED, topics.PREDICTIONS)
BATCH_TIMEOUT_MS: int = ServiceSettings.model_fields["kafka_batch_timeout_ms"].default


def benchmark_modules() -> list[str]:
    """Names of the benchmark modules, `mitl_cli.bench_*`, sorted."""
    found = pkgutil.iter_modules(mitl_cli.__path__)
    return sorted(f"mitl_cli.{m.name}" for m in found if m.name.startswith(PREFIX))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark and print its figures")
    benches = parser.add_subparsers(dest="bench", required=True, metavar="<name>")
    for name in benchmark_modules():
        importlib.import_module(name).register(benches)
    plugins.register_all(plugins.BENCHMARKS, benches)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory of process `pid` in MB: now (VmRSS) and peak (VmHWM), from /proc."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024  # kB
    return fields


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process `pid` has used so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_name(names: Sequence[str]) -> dict[str, float]:
    """CPU seconds used so far by every process whose command name is one of `names`
    (postgres serves each connection from its own process), by name."""
    total = dict.fromkeys(names, 0.0)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            comm = (proc / "comm").read_text().strip()
            if comm in total:
                total[comm] += cpu_seconds(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    return total


def machine() -> dict[str, object]:
    """What the figures were measured on: cores and the load other work put on them."""
    return {"cpu_count": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)}


def emit(figures: dict[str, object], as_json: bool) -> None:
    """Print the figures: one JSON object, or one `name: value` line each."""
    if as_json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key:<28} {value}")


async def at_most(limit: int, calls: Sequence[Callable[[], Awaitable[object]]]) -> None:
    """Run `calls` with at most `limit` in flight at once."""
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[object]]) -> None:
        async with gate:
            await call()

    await asyncio.gather(*(one(call) for call in calls))


async def paced(interval_s: float, calls: Sequence[Callable[[], Awaitable[object]]]) -> None:
    """Start one call every `interval_s` without waiting for the previous ones (so the rate
    holds even when answers are slow), then wait for all."""
    tasks: list[asyncio.Future[object]] = []
    next_at = time.monotonic()
    for call in calls:
        tasks.append(asyncio.ensure_future(call()))
        next_at += interval_s
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.gather(*tasks)


class Decisions:
    """Reads mitl.decisions.v1 from the start: item id -> decision time (epoch seconds).

    With `hops`, it also reads the ingested items and the predictions, and keeps when each
    was handed to Kafka (its record's timestamp), so that a decision's latency splits into
    the hops of the pipeline (`hops_ms`)."""

    def __init__(
        self, bootstrap: str, progress: Progress | None = None, hops: bool = False
    ) -> None:
        from aiokafka import AIOKafkaConsumer

        self.progress = progress if progress is not None else Progress(enabled=False)
        self.at: dict[str, float] = {}
        self.stamps: dict[str, dict[str, float]] = {t: {} for t in HOP_TOPICS} if hops else {}
        self.consumer = AIOKafkaConsumer(
            topics.DECISIONS,
            *self.stamps,
            bootstrap_servers=bootstrap,
            group_id=f"bench-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )

    async def collect(self) -> None:
        async for record in self.consumer:
            event = json.loads(record.value)
            if record.topic == topics.DECISIONS:
                at = datetime.fromisoformat(event["occurred_at"]).timestamp()
                self.at.setdefault(event["item_id"], at)
            else:
                self.stamps[record.topic].setdefault(event["item_id"], record.timestamp / 1000)

    async def wait(self, item_ids: set[str], phase: str = "", timeout: float = 600.0) -> float:
        """Wait until every item has a decision; returns the time of the last one. The
        progress bar shows the phase's items decided."""
        deadline = time.monotonic() + timeout
        report = self.progress.phase(f"{phase or 'items'}: decided", "items")
        while True:
            decided = len(item_ids & self.at.keys())
            report(decided, len(item_ids))
            if decided == len(item_ids):
                break
            if time.monotonic() > deadline:
                missing = len(item_ids - self.at.keys())
                raise TimeoutError(f"{missing} of {len(item_ids)} items got no decision")
            await asyncio.sleep(0.02)
        return max(self.at[i] for i in item_ids)

    def latencies_ms(self, sent_at: dict[str, float]) -> list[float]:
        return [(self.at[i] - sent) * 1000 for i, sent in sent_at.items()]

    def hops_ms(self, sent_at: dict[str, float]) -> dict[str, dict[str, float]]:
        """p50 and p99 of each hop, in ms, over the items of `sent_at` (read with `hops`):
        `ingest` from the POST to the ingested item's record, `inference` from there to the
        prediction's record (waiting for a batch, scoring, the claim), `router` from there to
        the decision (waiting for a batch, routing, storing)."""
        if not self.stamps:
            return {}
        items, predictions = (self.stamps[t] for t in HOP_TOPICS)
        known = [i for i in sent_at if i in items and i in predictions]
        hops = {
            "ingest": [items[i] - sent_at[i] for i in known],
            "inference": [predictions[i] - items[i] for i in known],
            "router": [self.at[i] - predictions[i] for i in known],
        }
        return {
            hop: {
                "p50": round(percentile(s, 50) * 1000, 1),
                "p99": round(percentile(s, 99) * 1000, 1),
            }
            for hop, s in hops.items()
        }


class Poster:
    """POSTs text items of `dataset` to ingest in batches, as a client would; remembers when
    each item was sent (epoch seconds) and how long each POST took."""

    def __init__(self, client: Any, dataset: str, phase: str) -> None:
        self.client = client
        self.dataset = dataset
        self.phase = phase
        self.sent_at: dict[str, float] = {}
        self.post_ms: list[float] = []
        self.count = 0

    async def post(self, batch: list[str]) -> None:
        first, phase = self.count, self.phase
        items = [{"external_id": f"{phase}-{first + i}", "text": t} for i, t in enumerate(batch)]
        self.count += len(batch)
        sent = time.time()
        body = {"dataset": self.dataset, "items": items}
        response = await self.client.post("/v1/items", json=body)
        response.raise_for_status()
        self.post_ms.append((time.time() - sent) * 1000)
        for outcome in response.json()["items"]:
            self.sent_at[outcome["item_id"]] = sent

    def calls(self, pool: list[str], size: int) -> list[Any]:
        """One call per batch of `size` texts of `pool`, for at_most or paced."""
        return [lambda b=pool[i : i + size]: self.post(b) for i in range(0, len(pool), size)]
