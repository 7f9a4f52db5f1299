"""Uncertainty scores for active learning: higher means a person's label teaches the model more.

All three are normalised to [0, 1] so that priorities compare across datasets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

Strategy = Literal["least_confidence", "margin", "entropy"]


def least_confidence(probabilities: Sequence[float]) -> float:
    k = len(probabilities)
    return (1.0 - max(probabilities)) * k / (k - 1)


def margin(probabilities: Sequence[float]) -> float:
    first, second = sorted(probabilities, reverse=True)[:2]
    return 1.0 - (first - second)


def entropy(probabilities: Sequence[float]) -> float:
    h = -sum(p * math.log(p) for p in probabilities if p > 0.0)
    return h / math.log(len(probabilities))


SCORES = {"least_confidence": least_confidence, "margin": margin, "entropy": entropy}


def uncertainty(probabilities: Sequence[float], strategy: Strategy) -> float:
    return min(1.0, max(0.0, SCORES[strategy](probabilities)))
