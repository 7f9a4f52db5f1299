"""One-sided lower confidence bounds on a binomial proportion (here: precision).

`lower_bound(k, n, method, level)` is the value p such that, if the true proportion were below
p, seeing `k` or more successes out of `n` would happen with probability under 1 - level.

`wilson` and `clopper_pearson` hold at their level for one look at a sample of fixed size.
`betting_cs` is a confidence sequence: with probability at least `level` it holds at every
sample size at once, so it may be checked after every new label (thresholds re-learned as
often as one likes) without losing its level. It is the wealth of a bettor who, for a
candidate precision p0, spreads a unit stake uniformly over constant bets on "precision is
q > p0": after k successes in n,

    M_n(p0) = integral_{p0}^{1} q^k (1 - q)^(n - k) dq / ((1 - p0) p0^k (1 - p0)^(n - k)),

a nonnegative martingale with mean 1 under precision p0 (a mixture of the betting martingales
prod (1 + lam (x_i - p0)), lam = (q - p0) / (p0 (1 - p0)) >= 0; the one-sided beta-binomial
mixture). By Ville's inequality it ever reaches 1 / (1 - level) with probability at most
1 - level, so the lower bound is the p0 where M_n(p0) falls to 1 / (1 - level): every smaller p0
has been bet against successfully. M_n is decreasing in p0 on [0, k / n], so "the bound
reaches the target" is "M_n(target) >= 1 / (1 - level)", one evaluation (see `reaches`).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Literal

import numpy as np

# The beta quantile is scipy.special's betaincinv (what scipy.stats' beta.ppf calls, bit for
# bit): importing scipy.stats as well cost every service that routes about a second of start-up.
from scipy.special import betaincc, betaincinv, betaln

BoundMethod = Literal["wilson", "clopper_pearson", "betting_cs"]
BOUND_METHODS: tuple[BoundMethod, ...] = ("wilson", "clopper_pearson", "betting_cs")


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
    return float(betaincinv(k, n - k + 1, 1 - level))


def log_wealth(k: np.ndarray, n: np.ndarray, p0: np.ndarray | float) -> np.ndarray:
    """log M_n(p0) of the one-sided betting confidence sequence (module docstring)."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    p0 = np.clip(np.asarray(p0, dtype=np.float64), 1e-300, 1 - 1e-16)
    with np.errstate(divide="ignore"):
        tail = np.log(betaincc(k + 1, n - k + 1, p0))
        return (
            betaln(k + 1, n - k + 1)
            + tail
            - np.log1p(-p0)
            - k * np.log(p0)
            - (n - k) * np.log1p(-p0)
        )


def betting_lower(k: np.ndarray, n: np.ndarray, level: float) -> np.ndarray:
    """Lower end of the betting confidence sequence at `level` (arrays; 0 where k == 0)."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    barrier = -math.log(1 - level)
    low = np.zeros_like(k)
    high = np.where(n > 0, k / np.maximum(n, 1.0), 0.0)
    for _ in range(60):  # bisection on [0, k / n], where log M_n falls through the barrier
        mid = (low + high) / 2
        rejected = log_wealth(k, n, mid) >= barrier
        low = np.where(rejected, mid, low)
        high = np.where(rejected, high, mid)
    return np.where(k > 0, low, 0.0)


def lower_bound(k: int, n: int, method: BoundMethod, level: float) -> float:
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if method == "wilson":
        return wilson_lower(k, n, level)
    if method == "betting_cs":
        return float(betting_lower(np.array([k]), np.array([n]), level)[0])
    return clopper_pearson_lower(k, n, level)


def reaches(
    k: np.ndarray, n: np.ndarray, target: float, method: BoundMethod, level: float
) -> np.ndarray:
    """Does the lower bound at each (k, n) reach `target`? For `betting_cs` one evaluation of
    the wealth at the target instead of a bisection per candidate."""
    if method == "betting_cs":
        k = np.asarray(k, dtype=np.float64)
        n = np.asarray(n, dtype=np.float64)
        return (k > 0) & (log_wealth(k, n, target) >= -math.log(1 - level))
    return lower_bounds(k, n, method, level) >= target


def upper_bound(k: int, n: int, method: BoundMethod, level: float) -> float:
    """The matching one-sided upper bound: 1 - the lower bound on the failure share."""
    return 1.0 - lower_bound(n - k, n, method, level)


def lower_bounds(k: np.ndarray, n: np.ndarray, method: BoundMethod, level: float) -> np.ndarray:
    """`lower_bound` over arrays of counts (n >= 1), for scanning every candidate threshold."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if method == "betting_cs":
        return betting_lower(k, n, level)
    if method == "clopper_pearson":
        safe_k = np.maximum(k, 1.0)
        return np.where(k > 0, betaincinv(safe_k, n - k + 1, 1 - level), 0.0)
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
