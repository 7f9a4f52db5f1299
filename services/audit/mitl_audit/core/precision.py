"""Precision of auto-accepted labels, estimated from spot checks. Pure: no I/O.

A spot check is a human label of an item whose decision was to accept the model's label, given
blind: the decision drew the item for a spot check, or the person did not see the suggestion.
Its outcome is whether the person chose the model's label, the one accepted. The
share of agreeing checks estimates the precision of accepted labels; the Wilson score interval
bounds it (it stays inside [0, 1] and behaves at 0 and n agreements, unlike the normal one).
"""

from __future__ import annotations

import math

from mitl_policy.ppi import Moments, ppi_from_moments
from pydantic import BaseModel

CONFIDENCE = 0.95
# Two-sided standard normal quantile for CONFIDENCE: Phi^-1(0.975).
Z_95 = 1.959963984540054


def wilson(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval (low, high) of a binomial proportion; None for no trials.

    Raises ValueError unless 0 <= successes <= trials."""
    if not 0 <= successes <= trials:
        raise ValueError(f"{successes} successes out of {trials} trials")
    if trials == 0:
        return None
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    center = (p + z2 / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    # At 0 or n successes the bound is exactly 0 or 1; rounding would leave it a hair inside.
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == trials else min(1.0, center + half)
    return low, high


class Precision(BaseModel):
    """Accepted precision from `spot_checks` checks, `agreed` of which kept the model's label,
    with its Wilson interval at `confidence`; None where there is no check."""

    spot_checks: int = 0
    agreed: int = 0
    precision: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float = CONFIDENCE
    # Prediction-powered interval (mitl_policy.ppi): the spot checks plus the model's
    # confidence on every accepted item; `ppi_narrower_by` = 1 - its width / Wilson's.
    ppi_precision: float | None = None
    ppi_low: float | None = None
    ppi_high: float | None = None
    ppi_narrower_by: float | None = None


def with_ppi(result: Precision, confidences: Moments, residuals: Moments) -> Precision:
    """`result` with the prediction-powered interval beside Wilson's (unchanged without an
    accepted item or a spot check)."""
    if confidences.n < 1 or residuals.n < 1 or result.ci_low is None or result.ci_high is None:
        return result
    interval = ppi_from_moments(confidences, residuals, result.confidence)
    wilson_width = result.ci_high - result.ci_low
    narrower = 1 - interval.width / wilson_width if wilson_width > 0 else 0.0
    return result.model_copy(
        update={
            "ppi_precision": interval.estimate,
            "ppi_low": interval.low,
            "ppi_high": interval.high,
            "ppi_narrower_by": narrower,
        }
    )


def precision(agreed: int, spot_checks: int) -> Precision:
    interval = wilson(agreed, spot_checks)
    if interval is None:
        return Precision()
    low, high = interval
    return Precision(
        spot_checks=spot_checks,
        agreed=agreed,
        precision=agreed / spot_checks,
        ci_low=low,
        ci_high=high,
    )
