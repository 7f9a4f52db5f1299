"""Accepted precision from spot checks alone (Wilson) and prediction-powered (PPI).

Spot checks are a blind uniform random sample of the accepted items, so their share correct
estimates the precision of everything accepted, with a Wilson interval as wide as their
number allows. Prediction-powered inference (Angelopoulos et al., 2023) also uses the model's
confidence in its own label, known for every accepted item: the precision is

    theta = mean over accepted of f  +  mean over spot checks of (y - f)

(f the confidence, y 1 if the spot check confirmed the label). The first term is exact up to
the accepted items' spread and has N terms; the second, the rectifier, corrects f's
miscalibration from the n spot checks. The interval is theta +/- z sqrt(var(f) / N +
var(y - f) / n): valid whatever the model's calibration (a wrong f widens it, never biases
it), and narrower than the spot-check-only interval when f tracks y (var(y - f) < var(y)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass(frozen=True)
class PrecisionIntervals:
    """Both two-sided intervals at `level`; `narrower` = 1 - PPI width / Wilson width."""

    spot_checks: int
    accepted: int
    level: float
    wilson: Interval
    ppi: Interval

    @property
    def narrower(self) -> float:
        return 1 - self.ppi.width / self.wilson.width if self.wilson.width > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "spot_checks": self.spot_checks,
            "accepted": self.accepted,
            "level": self.level,
            "wilson": {"estimate": self.wilson.estimate, "low": self.wilson.low,
                       "high": self.wilson.high},
            "ppi": {"estimate": self.ppi.estimate, "low": self.ppi.low, "high": self.ppi.high},
            "ppi_narrower_by": self.narrower,
        }  # fmt: skip


def wilson_interval(k: int, n: int, level: float) -> Interval:
    """Two-sided Wilson score interval at `level` (n >= 1)."""
    z = NormalDist().inv_cdf((1 + level) / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(p, max(0.0, centre - spread), min(1.0, centre + spread))


def _variance(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def ppi_interval(
    accepted_confidences: Sequence[float],
    checked: Sequence[tuple[float, bool]],
    level: float,
) -> Interval:
    """Prediction-powered interval for the precision of the accepted items: confidences of
    every accepted item, (confidence, confirmed) of the spot-checked ones (n >= 1)."""
    if not checked or not accepted_confidences:
        raise ValueError("need at least one accepted item and one spot check")
    z = NormalDist().inv_cdf((1 + level) / 2)
    big_n, n = len(accepted_confidences), len(checked)
    residual = [float(y) - f for f, y in checked]
    estimate = sum(accepted_confidences) / big_n + sum(residual) / n
    spread = z * math.sqrt(_variance(accepted_confidences) / big_n + _variance(residual) / n)
    return Interval(estimate, max(0.0, estimate - spread), min(1.0, estimate + spread))


@dataclass(frozen=True)
class Moments:
    """count, sum and sum of squares of a sample: enough for its mean and variance, and what
    a database can aggregate without sending rows."""

    n: int
    total: float
    squares: float

    @property
    def mean(self) -> float:
        return self.total / self.n

    @property
    def variance(self) -> float:
        if self.n < 2:
            return 0.0
        return max(0.0, (self.squares - self.total * self.total / self.n) / (self.n - 1))


def ppi_from_moments(confidences: Moments, residuals: Moments, level: float) -> Interval:
    """`ppi_interval` from the moments of the accepted items' confidences and of the spot
    checks' residuals (outcome - confidence)."""
    if confidences.n < 1 or residuals.n < 1:
        raise ValueError("need at least one accepted item and one spot check")
    z = NormalDist().inv_cdf((1 + level) / 2)
    estimate = confidences.mean + residuals.mean
    spread = z * math.sqrt(confidences.variance / confidences.n + residuals.variance / residuals.n)
    return Interval(estimate, max(0.0, estimate - spread), min(1.0, estimate + spread))


def precision_intervals(
    accepted_confidences: Sequence[float],
    checked: Sequence[tuple[float, bool]],
    level: float = 0.95,
) -> PrecisionIntervals | None:
    """Both intervals side by side; None without a spot check."""
    if not checked or not accepted_confidences:
        return None
    correct = sum(1 for _, y in checked if y)
    return PrecisionIntervals(
        spot_checks=len(checked),
        accepted=len(accepted_confidences),
        level=level,
        wilson=wilson_interval(correct, len(checked), level),
        ppi=ppi_interval(accepted_confidences, checked, level),
    )
