"""One-sided lower confidence bounds on a binomial proportion (here: precision).

`lower_bound(k, n, method, level)` is the value p such that, if the true proportion were below
p, seeing `k` or more successes out of `n` would happen with probability under 1 - level.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Literal

import numpy as np
from scipy.stats import beta

BoundMethod = Literal["wilson", "clopper_pearson"]


def wilson_lower(k: int, n: int, level: float) -> float:
    """Wilson score interval's lower end at one-sided `level`; 0 for n == 0."""
    if n == 0:
        return 0.0
    z = NormalDist().inv_cdf(level)
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - spread) / (1 + z * z / n))


def clopper_pearson_lower(k: int, n: int, level: float) -> float:
    """Exact (Clopper-Pearson) lower end at one-sided `level`; 0 for k == 0."""
    if k == 0:
        return 0.0
    return float(beta.ppf(1 - level, k, n - k + 1))


def lower_bound(k: int, n: int, method: BoundMethod, level: float) -> float:
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if method == "wilson":
        return wilson_lower(k, n, level)
    return clopper_pearson_lower(k, n, level)


def upper_bound(k: int, n: int, method: BoundMethod, level: float) -> float:
    """The matching one-sided upper bound: 1 - the lower bound on the failure share."""
    return 1.0 - lower_bound(n - k, n, method, level)


def lower_bounds(k: np.ndarray, n: np.ndarray, method: BoundMethod, level: float) -> np.ndarray:
    """`lower_bound` over arrays of counts (n >= 1), for scanning every candidate threshold."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if method == "clopper_pearson":
        safe_k = np.maximum(k, 1.0)
        return np.where(k > 0, beta.ppf(1 - level, safe_k, n - k + 1), 0.0)
    z = NormalDist().inv_cdf(level)
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return np.maximum(0.0, (centre - spread) / (1 + z * z / n))


def smallest_sufficient_n(target: float, method: BoundMethod, level: float) -> int:
    """The fewest verified items, all correct, whose bound reaches `target`: below that a
    class cannot leave cold start whatever the labels say."""
    n = 1
    while lower_bound(n, n, method, level) < target:
        n *= 2
    low = n // 2
    while low + 1 < n:
        mid = (low + n) // 2
        if lower_bound(mid, mid, method, level) >= target:
            n = mid
        else:
            low = mid
    return n
