"""Per-class accept thresholds learned from human-verified outcomes, for a target precision.

Candidates: verified items sorted by the model's confidence; a threshold t covers the n items
at or above it, k of them correct, and its one-sided lower bound on precision is
`lower_bound(k, n)`. Candidates are tested in a fixed sequence from high confidence down,
starting where n alone could pass and stopping at the first that fails: the chosen threshold
is the last that passed (>= min_accept_threshold, n >= min_verified). Stopping at the first
failure keeps the bound at its level although the threshold is chosen on the same verdicts.

Scope "dataset" (default) bounds the precision of everything accepted: one pooled threshold
over the classes with enough verified items, then raised, class by class, while that class's
own items above it are significantly below the target (upper bound under the target). The
pooled bound over the per-class thresholds is checked again at the end. Scope "class" bounds
each class's precision on its own, which needs min n (133 for Wilson at 0.98) per class.

The verified sample over-represents low confidences (items under the threshold are all
reviewed, items over it only spot-checked), and the items active learning picks are the
hardest of their confidence band, so precision above a candidate is underestimated and
thresholds stay high. With `calibration_rate` > 0 the bound uses only the calibration sample:
of each model version's predictions with confidence >= min_accept_threshold, those whose draw,
fixed by (item id, model version), is under the rate are reviewed blind (see
`in_calibration_sample`). The draw does not depend on the item's content or confidence, so
the sampled verdicts above any candidate threshold are a uniform random sample of what that
version scored above it (pooled over versions as `new_model_start` says): the bound is honest
in both directions. Every verdict carries what it needs to recompute membership.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from mitl_contracts.datasets import Policy

from mitl_policy.bounds import lower_bound, lower_bounds


@dataclass(frozen=True)
class Verdict:
    """A decision checked by people: was its predicted label right?"""

    predicted_label: str
    confidence: float
    correct: bool
    spot_check: bool = False
    item_id: str = ""
    model_version: str = ""


@dataclass(frozen=True)
class ClassThreshold:
    """`threshold` None: this class is not auto-accepted. `lower_bound` is the bound that
    justified the threshold (pooled over the dataset in scope "dataset")."""

    label: str
    threshold: float | None
    verified: int
    support: int = 0
    correct: int = 0
    lower_bound: float = 0.0


@dataclass(frozen=True)
class Thresholds:
    """What a policy with a target precision accepts, learned for one model version."""

    policy_version: str
    classes: dict[str, ClassThreshold]
    spot_check_rate: float
    spot_check_bound: float = 0.0
    outcomes: int = 0

    def threshold(self, label: str) -> float | None:
        entry = self.classes.get(label)
        return entry.threshold if entry is not None else None

    @property
    def warm(self) -> bool:
        return any(entry.threshold is not None for entry in self.classes.values())

    def needs_calibration(self, label: str, min_verified: int) -> bool:
        """While nothing is accepted, or the class has too few verified items, its items are
        reviewed in random order: an unbiased validation sample, like a cold start needs."""
        entry = self.classes.get(label)
        return not self.warm or entry is None or entry.verified < min_verified


def calibration_draw(item_id: str, model_version: str) -> float:
    """A uniform number in [0, 1) fixed by (item id, model version), not by content or
    confidence: each model version draws its own sample, so evidence stays fresh as the model
    changes, and a redelivered prediction draws the same."""
    digest = hashlib.sha256(f"calibration\x00{item_id}\x00{model_version}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_calibration_sample(
    item_id: str, model_version: str, confidence: float, policy: Policy
) -> bool:
    """Is this prediction part of the calibration sample (reviewed blind, bounds thresholds)?"""
    return (
        policy.learns_thresholds
        and policy.calibration_rate > 0
        and confidence >= policy.min_accept_threshold
        and calibration_draw(item_id, model_version) < policy.calibration_rate
    )


def evidence_filter(policy: Policy) -> Callable[[Sequence[Verdict]], list[Verdict]]:
    """The verdicts a bound may use: all of them, or only the calibration sample."""
    if policy.calibration_rate <= 0:
        return list

    def sampled(verdicts: Sequence[Verdict]) -> list[Verdict]:
        return [
            v
            for v in verdicts
            if in_calibration_sample(v.item_id, v.model_version, v.confidence, policy)
        ]

    return sampled


def _scan(verdicts: Sequence[Verdict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(confidence desc, cumulative n, cumulative k) at each candidate: the last of ties."""
    confidence = np.array([v.confidence for v in verdicts], dtype=np.float64)
    correct = np.array([v.correct for v in verdicts], dtype=np.int64)
    order = np.argsort(-confidence, kind="stable")
    confidence, correct = confidence[order], correct[order]
    n, k = np.arange(1, len(confidence) + 1), np.cumsum(correct)
    last_of_tie = np.append(confidence[1:] != confidence[:-1], True)
    return confidence[last_of_tie], n[last_of_tie], k[last_of_tie]


def passing_threshold(verdicts: Sequence[Verdict], policy: Policy) -> tuple[float, int, int, float]:
    """(threshold, n, k, bound) of the last candidate of the fixed sequence whose bound
    reaches the target, or threshold NaN when none does."""
    target = policy.target_precision
    if target is None:
        raise ValueError("policy has no target_precision: thresholds are not learned")
    if not verdicts:
        return float("nan"), 0, 0, 0.0
    confidence, n, k = _scan(verdicts)
    keep = (n >= policy.min_verified) & (confidence >= policy.min_accept_threshold)
    confidence, n, k = confidence[keep], n[keep], k[keep]
    if len(n) == 0:
        return float("nan"), 0, 0, 0.0
    bounds = lower_bounds(k, n, policy.bound, policy.confidence_level)
    # Fixed-sequence testing: from the first candidate whose n could pass at all (a choice
    # made on counts alone, never on which verdicts were right) downwards, stop at the first
    # candidate that fails. Taking the lowest passing candidate anywhere instead would pick
    # the luckiest of many tests, and the bound would no longer hold at its level.
    could = np.flatnonzero(lower_bounds(n, n, policy.bound, policy.confidence_level) >= target)
    if len(could) == 0:
        return float("nan"), 0, 0, 0.0
    start = int(could[0])
    failing = np.flatnonzero(bounds[start:] < target)
    end = start + int(failing[0]) if len(failing) else len(bounds)
    if end == start:
        return float("nan"), 0, 0, 0.0
    best = end - 1  # candidates run from high to low confidence
    return float(confidence[best]), int(n[best]), int(k[best]), float(bounds[best])


def learn_class(label: str, verdicts: Sequence[Verdict], policy: Policy) -> ClassThreshold:
    """Scope "class": the class's own bound decides."""
    threshold, n, k, bound = passing_threshold(evidence_filter(policy)(verdicts), policy)
    if np.isnan(threshold):
        return ClassThreshold(label, None, len(verdicts))
    return ClassThreshold(label, threshold, len(verdicts), n, k, bound)


def _raise_for_class(verdicts: Sequence[Verdict], start: float, policy: Policy) -> float | None:
    """The lowest candidate >= `start` where the class's own items are not significantly
    below the target (upper bound >= target); None if even the top is."""
    target = float(policy.target_precision or 0.0)
    above = [v for v in verdicts if v.confidence >= start]
    if not above:
        return start
    confidence, n, k = _scan(above)
    for index in range(len(n) - 1, -1, -1):  # from the lowest candidate upwards
        if k[index] / n[index] >= target:
            return float(confidence[index])
    return None


def learn_dataset(by_label: dict[str, list[Verdict]], policy: Policy) -> dict[str, ClassThreshold]:
    """Scope "dataset": one pooled threshold, raised per class where the class falls short."""
    cold = {c: ClassThreshold(c, None, len(vs)) for c, vs in by_label.items()}
    verified = {c: len(vs) for c, vs in by_label.items()}
    keep = evidence_filter(policy)
    eligible = {c: keep(vs) for c, vs in by_label.items() if len(vs) >= policy.min_verified}
    pooled = [v for vs in eligible.values() for v in vs]
    start, *_ = passing_threshold(pooled, policy)
    if np.isnan(start):
        return cold
    raised = {c: _raise_for_class(vs, start, policy) for c, vs in eligible.items()}
    accepted = [v for c, vs in eligible.items() for v in vs if _covers(raised[c], v)]
    correct = sum(v.correct for v in accepted)
    bound = lower_bound(correct, len(accepted), policy.bound, policy.confidence_level)
    if bound < float(policy.target_precision or 0.0):
        # Raising thinned the evidence below the bound: the pooled threshold alone holds.
        raised = dict.fromkeys(eligible, start)
        accepted = [v for v in pooled if v.confidence >= start]
        correct = sum(v.correct for v in accepted)
        bound = lower_bound(correct, len(accepted), policy.bound, policy.confidence_level)
    result = dict(cold)
    for c, threshold in raised.items():
        mine = [v for v in eligible[c] if _covers(threshold, v)]
        result[c] = ClassThreshold(
            c, threshold, verified[c], len(mine), sum(v.correct for v in mine), bound
        )
    return result


def _covers(threshold: float | None, verdict: Verdict) -> bool:
    return threshold is not None and verdict.confidence >= threshold


def spot_check_rate(verdicts: Iterable[Verdict], policy: Policy) -> tuple[float, float]:
    """(share of accepted items to spot-check, bound on spot-checked precision).

    Spot checks are the blind random sample of what was actually accepted, so their bound is
    the live check of the guarantee: the share rises linearly from spot_check_rate to the
    ceiling as that bound falls from target + spot_check_margin to the target (or below).
    """
    checks = [v for v in verdicts if v.spot_check]
    correct = sum(v.correct for v in checks)
    bound = lower_bound(correct, len(checks), policy.bound, policy.confidence_level)
    if policy.target_precision is None:
        return policy.spot_check_rate, bound
    gap = policy.target_precision + policy.spot_check_margin - bound
    closeness = min(1.0, max(0.0, gap / policy.spot_check_margin))
    base, ceiling = policy.spot_check_rate, policy.spot_check_ceiling
    return base + (ceiling - base) * closeness, bound


def learn_thresholds(
    verdicts: Sequence[Verdict], labels: Sequence[str], policy: Policy
) -> Thresholds:
    """Thresholds for every label of the dataset from the newest `calibration_window`
    verdicts (callers pass them newest first)."""
    window = verdicts[: policy.calibration_window]
    by_label: dict[str, list[Verdict]] = {label: [] for label in labels}
    for verdict in window:
        if verdict.predicted_label in by_label:
            by_label[verdict.predicted_label].append(verdict)
    if policy.precision_scope == "class":
        classes = {label: learn_class(label, by_label[label], policy) for label in labels}
    else:
        classes = learn_dataset(by_label, policy)
    rate, spot_bound = spot_check_rate(window, policy)
    return Thresholds(policy.version, classes, rate, spot_bound, len(window))
