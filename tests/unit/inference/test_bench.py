"""`mitl bench`'s registry and shared helpers (figures come from running it, not from tests)."""

from __future__ import annotations

import argparse
import math
import os

from mitl_cli.commands import bench


def test_benchmarks_are_discovered_by_module_name() -> None:
    assert "mitl_cli.bench_inference" in bench.benchmark_modules()
    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers())
    args = parser.parse_args(["bench", "inference", "--model", "tfidf", "--items", "10", "--json"])
    assert args.model == "tfidf" and args.items == 10 and args.json and callable(args.func)


def test_percentile_interpolates() -> None:
    assert bench.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert bench.percentile([0.0, 10.0], 99) == 9.9
    assert math.isnan(bench.percentile([], 50))


def test_process_figures_of_this_process() -> None:
    memory = bench.memory_mb(os.getpid())
    assert 0 < memory["VmRSS"] <= memory["VmHWM"]
    assert bench.cpu_seconds(os.getpid()) > 0


def test_cpu_by_name_counts_this_python_process() -> None:
    import time

    name = open(f"/proc/{os.getpid()}/comm").read().strip()
    end = time.process_time() + 0.05
    while time.process_time() < end:  # use a little CPU
        pass
    mine = bench.cpu_seconds(os.getpid())  # read first: the process goes on using CPU
    used = bench.cpu_by_name([name, "no-such-process-name"])
    assert used[name] >= mine > 0
    assert used["no-such-process-name"] == 0.0


def test_hops_split_each_latency_at_the_records_between_post_and_decision() -> None:
    """`hops_ms` splits POST -> decision at the ingested item's and the prediction's record
    times; an item not yet seen on every topic is left out."""
    decisions = bench.Decisions.__new__(bench.Decisions)
    items, predictions = bench.HOP_TOPICS
    decisions.stamps = {items: {}, predictions: {}}
    decisions.at = {}
    sent = {}
    for n in range(100):
        item = f"i{n}"
        sent[item] = 100.0 + n
        decisions.stamps[items][item] = sent[item] + 0.010
        decisions.stamps[predictions][item] = sent[item] + 0.010 + 0.001 * n
        decisions.at[item] = sent[item] + 0.010 + 0.001 * n + 0.005
    sent["late"] = 500.0  # posted, but no prediction read yet
    decisions.stamps[items]["late"] = 500.01
    hops = decisions.hops_ms(sent)
    assert hops["ingest"] == {"p50": 10.0, "p99": 10.0}
    assert hops["inference"]["p50"] == 49.5
    assert hops["inference"]["p99"] == 98.0
    assert hops["router"] == {"p50": 5.0, "p99": 5.0}


def test_hops_are_empty_without_the_hop_topics() -> None:
    decisions = bench.Decisions.__new__(bench.Decisions)
    decisions.stamps = {}
    assert decisions.hops_ms({"a": 1.0}) == {}


def test_cores_used_divides_each_part_s_cpu_by_the_wall_time() -> None:
    from mitl_cli.bench_inference import cores_used

    before = {"inference": 10.0, "broker": 2.0}
    after = {"inference": 13.0, "broker": 2.5}
    assert cores_used(before, after, 2.0) == {"inference": 1.5, "broker": 0.25}


def test_warm_up_sends_bursts_and_waits_for_each_until_its_time_is_up() -> None:
    """The bench's warm-up: whole bursts of `--items`, each decided before the next is sent,
    for `--warm-up-seconds` (none at 0)."""
    import asyncio
    import time
    from typing import Any, cast

    from mitl_cli.bench_inference import warm_up

    class Poster:
        def __init__(self) -> None:
            self.sent_at: dict[str, float] = {}
            self.count = 0

        def calls(self, pool: list[str], size: int) -> list[Any]:
            async def post(batch: list[str]) -> None:
                for _ in batch:
                    self.sent_at[f"item-{self.count}"] = time.time()
                    self.count += 1

            return [lambda b=pool[i : i + size]: post(b) for i in range(0, len(pool), size)]

    class Decisions:
        def __init__(self) -> None:
            self.waited: list[set[str]] = []

        async def wait(self, item_ids: set[str], phase: str = "") -> float:
            self.waited.append(item_ids)
            await asyncio.sleep(0.01)
            return time.time()

    def run(seconds: float) -> tuple[int, list[set[str]]]:
        poster, decisions = Poster(), Decisions()
        args = argparse.Namespace(items=10, post_batch=4, warm_up_seconds=seconds)
        sent = asyncio.run(warm_up(cast(Any, poster), cast(Any, decisions), args))
        return sent, decisions.waited

    sent, waited = run(0.05)
    assert len(waited) >= 2 and sent == 10 * len(waited)
    assert all(len(burst) == 10 for burst in waited)
    assert set().union(*waited) == {f"item-{i}" for i in range(sent)}
    assert run(0.0) == (0, [])
