"""`mitl bench <name>`: benchmarks that start what they need, measure, print their figures and
stop everything again. Figures live here, never in timed test assertions.

Each benchmark is a module `mitl_cli/bench_<name>.py` exposing `register(subparsers)`, which
adds its parser under `mitl bench` and sets `func` (returns an exit code). Adding such a
module adds the subcommand: nothing here changes. The small helpers below (percentiles,
process memory, output) are shared by the benchmarks.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import pkgutil
from collections.abc import Sequence
from pathlib import Path

import mitl_cli

PREFIX = "bench_"


def benchmark_modules() -> list[str]:
    """Names of the benchmark modules, `mitl_cli.bench_*`, sorted."""
    return sorted(
        f"mitl_cli.{m.name}" for m in pkgutil.iter_modules(mitl_cli.__path__) if m.name.startswith(PREFIX)
    )


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("bench", help="run a benchmark and print its figures")
    benches = parser.add_subparsers(dest="bench", required=True, metavar="<name>")
    for name in benchmark_modules():
        importlib.import_module(name).register(benches)


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
