"""`mitl simulate --bound-check`: how often does each bound certify a threshold that does not
deserve it, when thresholds are re-learned again and again as verified labels grow?

Each synthetic stream is a sequence of verified predictions whose confidence is uniform on
[min_accept_threshold, 1] and which are right with probability `target - gap` whatever their
confidence: every threshold's true precision sits just under the target, so any certified
threshold is a false certification. Every `every` labels the router's own threshold scan
(`mitl_policy.calibration.passing_threshold_of`, fixed-sequence testing from high confidence
down) runs on all labels so far; a stream counts once if some look certifies. The same
streams are replayed for every bound. A bound valid for one look at a fixed sample size
(Wilson, Clopper-Pearson) is checked at each look at its level, so the chance that some look
certifies grows with the number of looks; a confidence sequence (`betting_cs`) holds at every
sample size at once and stays under 1 - level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mitl_contracts.datasets import Policy
from mitl_policy.bounds import BOUND_METHODS, BoundMethod
from mitl_policy.calibration import passing_threshold_of


@dataclass(frozen=True)
class BoundCheck:
    """The streams to draw and how often to look. Thresholds are learned under the default
    policy (its confidence level, minimum of verified items, lowest threshold and scan) at
    `target`, with the bound under test: the policy a dataset gets when it names no more."""

    streams: int = 1000
    target: float = 0.95
    gap: float = 0.005
    every: int = 50
    horizon: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.streams < 1 or self.every < 1 or self.horizon < self.every:
            raise ValueError("need streams >= 1, every >= 1 and horizon >= every")
        if not 0 < self.target - self.gap < self.target < 1:
            raise ValueError(f"need 0 < target - gap < target < 1, got {self.target}, {self.gap}")

    def policy(self, bound: BoundMethod) -> Policy:
        return Policy(
            version="bound-check", target_precision=self.target, bound=bound, escalation_floor=0.0
        )


def first_certified(
    confidence: np.ndarray, correct: np.ndarray, policy: Policy, every: int
) -> int | None:
    """Labels seen at the first look that certifies a threshold (None: no look does)."""
    for seen in range(every, len(confidence) + 1, every):
        threshold, *_ = passing_threshold_of(confidence[:seen], correct[:seen], policy)
        if not np.isnan(threshold):
            return seen
    return None


def bound_check(
    check: BoundCheck, bounds: tuple[BoundMethod, ...] = BOUND_METHODS
) -> dict[str, object]:
    """Per bound: the share of streams some look certifies (`false_certification_rate`), the
    share certified at the last look alone (`last_look_rate`), and the settings."""
    certified = dict.fromkeys(bounds, 0)
    last_look = dict.fromkeys(bounds, 0)
    policies = {bound: check.policy(bound) for bound in bounds}
    shared = check.policy(BOUND_METHODS[0])  # what every bound's policy has but the bound
    precision = check.target - check.gap
    for stream in range(check.streams):
        rng = np.random.default_rng([check.seed, stream])
        confidence = rng.uniform(shared.min_accept_threshold, 1.0, check.horizon)
        correct = (rng.random(check.horizon) < precision).astype(np.int64)
        for bound, policy in policies.items():
            if first_certified(confidence, correct, policy, check.every) is not None:
                certified[bound] += 1
            threshold, *_ = passing_threshold_of(confidence, correct, policy)
            last_look[bound] += int(not np.isnan(threshold))
    return {
        "mode": "bound_check",
        "streams": check.streams,
        "target": check.target,
        "true_precision": round(precision, 6),
        "relearn_every": check.every,
        "horizon": check.horizon,
        "looks": check.horizon // check.every,
        "confidence_level": shared.confidence_level,
        "min_verified": shared.min_verified,
        "seed": check.seed,
        "false_certification_rate": {b: certified[b] / check.streams for b in bounds},
        "last_look_rate": {b: last_look[b] / check.streams for b in bounds},
    }
