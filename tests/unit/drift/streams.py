"""Seeded synthetic prediction streams for the drift core tests."""

from __future__ import annotations

import numpy as np
from mitl_drift.windows import Observation

LABELS = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")
CLASS_MIX = (0.1, 0.2, 0.3, 0.2, 0.1, 0.1)


def stream(
    rng: np.random.Generator,
    n: int,
    *,
    confidence: tuple[float, float] = (8.0, 2.0),
    class_mix: tuple[float, ...] = CLASS_MIX,
    outlier_mean: float = 0.5,
) -> list[Observation]:
    """`n` observations: Beta-distributed confidence (floored at 1/6, as a top class is),
    classes drawn from `class_mix`, Gamma-distributed outlier scores with `outlier_mean`."""
    confidences = np.maximum(rng.beta(*confidence, size=n), 1 / len(LABELS))
    classes = rng.choice(len(LABELS), size=n, p=np.asarray(class_mix))
    outliers = rng.gamma(4.0, outlier_mean / 4.0, size=n)
    return [
        Observation(float(c), int(k), float(o))
        for c, k, o in zip(confidences, classes, outliers, strict=True)
    ]
