"""Resident memory of the services, from /proc, and whether it grows with the items processed.

Growth is the least-squares slope of RSS against items processed, in MB per 1,000 items: a
leak that keeps something per item shows up as a steady positive slope however noisy the
samples; a service that only warms up does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


def rss_mb(pid: int) -> float | None:
    """Resident memory of `pid` in MB (VmRSS), or None if the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key == "VmRSS":
            return int(value.split()[0]) / 1024  # kB
    return None


def slope_per_thousand(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of y over x, times 1,000 (MB per 1,000 items); None with fewer than
    3 points or no spread in x."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return None
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return covariance / spread * 1000


@dataclass
class MemoryTrack:
    """RSS samples per service, each tagged with the items processed so far."""

    samples: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    def record(self, items_done: int, pids: dict[str, int]) -> None:
        for name, pid in pids.items():
            if (mb := rss_mb(pid)) is not None:
                self.samples.setdefault(name, []).append((items_done, mb))

    def summary(self, warm_up_share: float = 0.0) -> dict[str, dict[str, float | None]]:
        """Per service: RSS at start, middle and end of the samples, and the slope over the
        samples taken after the first `warm_up_share` of the items (start-up allocations
        are not growth)."""
        out: dict[str, dict[str, float | None]] = {}
        for name, points in sorted(self.samples.items()):
            if not points:
                continue
            warm_from = warm_up_share * max(x for x, _ in points)
            slope = slope_per_thousand([(x, y) for x, y in points if x >= warm_from])
            out[name] = {
                "rss_start_mb": round(points[0][1], 1),
                "rss_mid_mb": round(points[len(points) // 2][1], 1),
                "rss_end_mb": round(points[-1][1], 1),
                "mb_per_1000_items": None if slope is None else round(slope, 3),
            }
        return out
