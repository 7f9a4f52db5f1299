"""Per-class accept thresholds learned from human-verified outcomes, for a target precision.

Candidates: verified items sorted by the model's confidence; a threshold t covers the n items
at or above it, k of them correct, and its one-sided lower bound on precision is
`lower_bound(k, n)`. Candidates are tested in a fixed sequence from high confidence down,
starting where n alone could pass and stopping at the first that fails: the chosen threshold
is the last that passed (>= min_accept_threshold, n >= min_verified). Stopping at the first
failure keeps the bound at its level although the threshold is chosen on the same verdicts.

Scope "dataset" (default) bounds the precision of everything accepted: one pooled threshold
over the classes with enough verified items (with `shared_threshold` over every class, the
classes under min_verified accepting at it as it is), then raised, class by class, while
that class's own items above it fall short of the target (`class_raise`: their share right
is under it, "observed", or their one-sided upper bound is, "significant"). The pooled
bound over the per-class thresholds is checked again at the end. Scope "class" bounds each
class's precision on its own, which needs min n (133 for Wilson at 0.98) per class.

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
from dataclasses import dataclass, replace

import numpy as np
from mitl_contracts.datasets import Policy

from mitl_policy.bounds import lower_bound, reaches, upper_bound


@dataclass(frozen=True)
class Verdict:
    """A decision checked by people: was its predicted label right?"""

    predicted_label: str
    confidence: float
    correct: bool
    spot_check: bool = False
    item_id: str = ""
    model_version: str = ""
    # The calibration rate in force for this decision when it was routed (recorded on the
    # decision); None: the policy's fixed `calibration_rate` (decisions from before it was
    # recorded).
    calibration_rate: float | None = None


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
    # Calibration verdicts of this class in the window, and the share of this class's
    # confident predictions to draw into the calibration sample next (see `calibration_rate`).
    sampled: int = 0
    calibration_rate: float = 0.0
    # Not a threshold of the class's own: it has too few verified items (min_verified) and
    # accepts at the pooled threshold shared by such classes (`Policy.shared_threshold`).
    shared: bool = False


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

    def calibration_rate(self, label: str, policy: Policy) -> float:
        """The calibration rate in force for predictions of `label`."""
        if not policy.calibration_budget:
            return policy.calibration_rate
        entry = self.classes.get(label)
        if entry is None:
            return initial_calibration_rate(policy)
        return entry.calibration_rate

    def needs_calibration(self, label: str, min_verified: int) -> bool:
        """While nothing is accepted, or the class has too few verified items (and no shared
        threshold), its items are reviewed in random order: an unbiased validation sample,
        like a cold start needs."""
        entry = self.classes.get(label)
        if entry is not None and entry.shared and entry.threshold is not None:
            return False
        return not self.warm or entry is None or entry.verified < min_verified


def calibration_draw(item_id: str, model_version: str) -> float:
    """A uniform number in [0, 1) fixed by (item id, model version), not by content or
    confidence: each model version draws its own sample, so evidence stays fresh as the model
    changes, and a redelivered prediction draws the same."""
    digest = hashlib.sha256(f"calibration\x00{item_id}\x00{model_version}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def samples_calibration(policy: Policy) -> bool:
    """Does this policy bound thresholds on a calibration sample (fixed or adaptive rate)?"""
    return policy.learns_thresholds and max(policy.calibration_rate, policy.calibration_ceiling) > 0


def initial_calibration_rate(policy: Policy) -> float:
    """The rate before anything is learned for a model version: the ceiling when a budget
    drives the rate (the sample must grow fast enough to certify), else the fixed rate."""
    return policy.calibration_ceiling if policy.calibration_budget else policy.calibration_rate


def rate_in_force(thresholds: Thresholds | None, label: str, policy: Policy) -> float:
    """The calibration rate a prediction of `label` is drawn at: the class's learned rate, or
    the initial rate before anything is learned. The router core and the simulator's
    shortlist both ask this, so they sample the same items."""
    if thresholds is None:
        return initial_calibration_rate(policy)
    return thresholds.calibration_rate(label, policy)


def adaptive_rate(entry: ClassThreshold, policy: Policy) -> float:
    """The calibration rate for a class, given what was learned for it.

    With `calibration_budget` set, the rate moves between `calibration_rate` (the floor, a
    spot-check rate) and `calibration_max_rate` (the ceiling):
    - not certified (no threshold, or only the pooled one shared by the classes under
      min_verified) and fewer than `calibration_budget` calibration verdicts: the ceiling,
      so that the sample reaches the size the bound needs quickly;
    - not certified with the budget spent: the floor (the target is out of reach of that many
      labels for now; the sample keeps growing slowly, and a new model version starts again);
    - certified, with fewer than `calibration_budget` calibration verdicts: from the ceiling
      down to the floor as the bound rises from the target to target + `calibration_margin`
      (linear), so that a bound near the target gets evidence;
    - certified with the budget spent: the floor, until `calibration_floor_budget` more
      calibration verdicts are in (budget + floor budget in all), then 0: the floor is paid
      for once, not again by every model version (each version draws its own sample, so a
      floor of 1 % samples 1 % of the pending pool whenever a retrained head rescores it).
      A certificate that falls under the target is withdrawn, and an uncertified class
      draws at the floor again. The budget is what the policy pays for
      calibration at raised rates; a bound that stays within the margin of the target after
      it does not buy more (at true precision 0.98 and target 0.95, Wilson's bound needs about
      400 verdicts to clear 0.96, which at the ceiling cost more labels than the whole
      Ground-Truth-style sample). The floor keeps the sample growing, and a threshold whose
      bound falls under the target is withdrawn as before.
    The rate depends only on counts and bounds learned so far, never on the item being drawn:
    each sampled item is still a random draw from the predictions routed while it was in force.
    """
    floor, ceiling = policy.calibration_rate, policy.calibration_ceiling
    if not policy.calibration_budget:
        return floor
    if entry.threshold is None or entry.shared:
        return ceiling if entry.sampled < policy.calibration_budget else floor
    if entry.sampled >= policy.calibration_budget:
        spent = policy.calibration_floor_budget
        done = spent is not None and entry.sampled >= policy.calibration_budget + spent
        return 0.0 if done else floor
    target = float(policy.target_precision or 0.0)
    gap = target + policy.calibration_margin - entry.lower_bound
    closeness = min(1.0, max(0.0, gap / policy.calibration_margin))
    return floor + (ceiling - floor) * closeness


def in_calibration_sample(
    item_id: str, model_version: str, confidence: float, policy: Policy, rate: float | None = None
) -> bool:
    """Is this prediction part of the calibration sample (reviewed blind, bounds thresholds)?
    `rate`: the rate in force for it (None: the policy's fixed `calibration_rate`)."""
    rate = policy.calibration_rate if rate is None else rate
    return (
        policy.learns_thresholds
        and rate > 0
        and confidence >= policy.min_accept_threshold
        and calibration_draw(item_id, model_version) < rate
    )


def is_calibration_verdict(verdict: Verdict, policy: Policy) -> bool:
    return in_calibration_sample(
        verdict.item_id, verdict.model_version, verdict.confidence, policy,
        verdict.calibration_rate,
    )  # fmt: skip


def evidence_filter(policy: Policy) -> Callable[[Sequence[Verdict]], list[Verdict]]:
    """The verdicts a bound may use: all of them, or only the calibration sample."""
    if not samples_calibration(policy):
        return list

    def sampled(verdicts: Sequence[Verdict]) -> list[Verdict]:
        return [v for v in verdicts if is_calibration_verdict(v, policy)]

    return sampled


def _scan(confidence: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(confidence desc, cumulative n, cumulative k) at each candidate: the last of ties."""
    order = np.argsort(-confidence, kind="stable")
    confidence, correct = confidence[order], correct[order]
    n, k = np.arange(1, len(confidence) + 1), np.cumsum(correct)
    last_of_tie = np.append(confidence[1:] != confidence[:-1], True)
    return confidence[last_of_tie], n[last_of_tie], k[last_of_tie]


GRID_STEPS_PER_HALVING = 2
GRID_POINTS = 40


def grid_floor(confidence: np.ndarray, floor: float) -> np.ndarray:
    """Each confidence >= `floor` moved down to the nearest point of a fixed grid,
    t_j = 1 - (1 - floor) * 2 ** (-j / 2), j = 0 .. 40 (the distance to 1 halves every two
    points); confidences under `floor` stay as they are. With the anytime-valid bound the
    candidate thresholds are these grid points: each is a fixed hypothesis whose verified
    items form one growing stream, so its confidence sequence holds over every re-learning."""
    confidence = np.asarray(confidence, dtype=np.float64)
    if floor >= 1.0:
        return confidence
    with np.errstate(divide="ignore"):
        steps = np.log2((1 - floor) / np.maximum(1 - confidence, 1e-300)) * GRID_STEPS_PER_HALVING
    j = np.clip(np.floor(steps + 1e-9), 0, GRID_POINTS)
    snapped = 1 - (1 - floor) * 2.0 ** (-j / GRID_STEPS_PER_HALVING)
    return np.where(confidence >= floor, np.minimum(snapped, confidence), confidence)


def _arrays(verdicts: Sequence[Verdict]) -> tuple[np.ndarray, np.ndarray]:
    confidence = np.array([v.confidence for v in verdicts], dtype=np.float64)
    correct = np.array([v.correct for v in verdicts], dtype=np.int64)
    return confidence, correct


def passing_threshold(verdicts: Sequence[Verdict], policy: Policy) -> tuple[float, int, int, float]:
    """(threshold, n, k, bound) of the last candidate of the fixed sequence whose bound
    reaches the target, or threshold NaN when none does."""
    return passing_threshold_of(*_arrays(verdicts), policy)


def passing_threshold_of(
    confidence: np.ndarray, correct: np.ndarray, policy: Policy
) -> tuple[float, int, int, float]:
    """`passing_threshold` on arrays: each verdict's confidence and whether it was right."""
    target = policy.target_precision
    if target is None:
        raise ValueError("policy has no target_precision: thresholds are not learned")
    if len(confidence) == 0:
        return float("nan"), 0, 0, 0.0
    confidence = np.asarray(confidence, np.float64)
    if policy.bound == "betting_cs":
        confidence = grid_floor(confidence, policy.min_accept_threshold)
    confidence, n, k = _scan(confidence, np.asarray(correct, np.int64))
    keep = (n >= policy.min_verified) & (confidence >= policy.min_accept_threshold)
    confidence, n, k = confidence[keep], n[keep], k[keep]
    if len(n) == 0:
        return float("nan"), 0, 0, 0.0
    level = policy.confidence_level
    # Fixed-sequence testing: from the first candidate whose n could pass at all (a choice
    # made on counts alone, never on which verdicts were right) downwards, stop at the first
    # candidate that fails. Taking the lowest passing candidate anywhere instead would pick
    # the luckiest of many tests, and the bound would no longer hold at its level.
    # With scan_start_errors e > 0 the scan starts where n could pass with a share e of the
    # target's error rate wrong (still counts alone): one confident mistake among the few
    # most confident items then no longer stops the scan at its first candidate.
    allowed = np.ceil(n * (1 - target) * policy.scan_start_errors)
    could = np.flatnonzero(reaches(n - allowed, n, target, policy.bound, level))
    if len(could) == 0:
        return float("nan"), 0, 0, 0.0
    start = int(could[0])
    failing = np.flatnonzero(~reaches(k[start:], n[start:], target, policy.bound, level))
    end = start + int(failing[0]) if len(failing) else len(n)
    if end == start:
        return float("nan"), 0, 0, 0.0
    best = end - 1  # candidates run from high to low confidence
    bound = lower_bound(int(k[best]), int(n[best]), policy.bound, level)
    return float(confidence[best]), int(n[best]), int(k[best]), bound


def learn_class(label: str, verdicts: Sequence[Verdict], policy: Policy) -> ClassThreshold:
    """Scope "class": the class's own bound decides."""
    threshold, n, k, bound = passing_threshold(evidence_filter(policy)(verdicts), policy)
    if np.isnan(threshold):
        return ClassThreshold(label, None, len(verdicts))
    return ClassThreshold(label, threshold, len(verdicts), n, k, bound)


def _short_of_target(k: int, n: int, policy: Policy) -> bool:
    """Do k right of a class's n verdicts fall short of the target, as `class_raise` reads
    it: the share right under the target ("observed"), or the one-sided upper bound at the
    policy's level under it ("significant": 1 wrong of 14 is not, at 0.95)."""
    target = float(policy.target_precision or 0.0)
    if policy.class_raise == "significant":
        return upper_bound(k, n, policy.bound, policy.confidence_level) < target
    return k / n < target


def _raise_for_class(verdicts: Sequence[Verdict], start: float, policy: Policy) -> float | None:
    """The lowest candidate >= `start` where the class's own items do not fall short of the
    target (`_short_of_target`); None if even the top does."""
    above = [v for v in verdicts if v.confidence >= start]
    if not above:
        return start
    confidence, n, k = _scan(*_arrays(above))
    for index in range(len(n) - 1, -1, -1):  # from the lowest candidate upwards
        if not _short_of_target(int(k[index]), int(n[index]), policy):
            return float(confidence[index])
    return None


def learn_dataset(by_label: dict[str, list[Verdict]], policy: Policy) -> dict[str, ClassThreshold]:
    """Scope "dataset": one pooled threshold, raised per class where the class falls short.
    With `shared_threshold` the classes under min_verified take part too: their calibration
    verdicts are pooled (the shared threshold is bounded over everything it accepts), and they
    accept at the pooled threshold itself, too few items of their own to raise it on."""
    cold = {c: ClassThreshold(c, None, len(vs)) for c, vs in by_label.items()}
    verified = {c: len(vs) for c, vs in by_label.items()}
    keep = evidence_filter(policy)
    eligible = {c: keep(vs) for c, vs in by_label.items() if len(vs) >= policy.min_verified}
    sharing: dict[str, list[Verdict]] = {}
    if policy.shared_threshold:
        sharing = {c: keep(vs) for c, vs in by_label.items() if c not in eligible}
    covered = eligible | sharing
    pooled = [v for vs in covered.values() for v in vs]
    start, *_ = passing_threshold(pooled, policy)
    if np.isnan(start):
        return cold
    raised = {c: _raise_for_class(vs, start, policy) for c, vs in eligible.items()}
    raised |= dict.fromkeys(sharing, start)
    accepted = [v for c, vs in covered.items() for v in vs if _covers(raised[c], v)]
    correct = sum(v.correct for v in accepted)
    bound = lower_bound(correct, len(accepted), policy.bound, policy.confidence_level)
    if bound < float(policy.target_precision or 0.0):
        # Raising thinned the evidence below the bound: the pooled threshold alone holds.
        raised = dict.fromkeys(covered, start)
        accepted = [v for v in pooled if v.confidence >= start]
        correct = sum(v.correct for v in accepted)
        bound = lower_bound(correct, len(accepted), policy.bound, policy.confidence_level)
    result = dict(cold)
    for c, threshold in raised.items():
        mine = [v for v in covered[c] if _covers(threshold, v)]
        result[c] = ClassThreshold(
            c, threshold, verified[c], len(mine), sum(v.correct for v in mine), bound,
            shared=c in sharing,
        )  # fmt: skip
    return result


def _covers(threshold: float | None, verdict: Verdict) -> bool:
    return threshold is not None and verdict.confidence >= threshold


def accepted_evidence(
    verdicts: Iterable[Verdict], classes: dict[str, ClassThreshold], policy: Policy
) -> list[Verdict]:
    """The blind verdicts on what is accepted: the spot checks, and with
    `spot_check_evidence` "accepted" also the calibration verdicts at or above their class's
    threshold (a uniform random draw from what the class's threshold accepts, like a spot
    check, but drawn before acceptance)."""
    verdicts = list(verdicts)
    checks = [v for v in verdicts if v.spot_check]
    if policy.spot_check_evidence != "accepted" or not samples_calibration(policy):
        return checks
    covered = [
        v for v in verdicts
        if not v.spot_check
        and v.predicted_label in classes
        and _covers(classes[v.predicted_label].threshold, v)
        and is_calibration_verdict(v, policy)
    ]  # fmt: skip
    return checks + covered


def spot_check_rate(verdicts: Iterable[Verdict], policy: Policy) -> tuple[float, float]:
    """(share of accepted items to spot-check, bound on spot-checked precision).

    Spot checks are the blind random sample of what was actually accepted, so their bound is
    the live check of the guarantee: the share rises linearly from spot_check_rate to the
    ceiling as that bound falls from target + spot_check_margin to the target (or below).
    `verdicts` are the blind verdicts the bound rests on (`accepted_evidence`); all of them
    count (the spot checks alone where only they are passed).
    """
    checks = list(verdicts)
    correct = sum(v.correct for v in checks)
    bound = lower_bound(correct, len(checks), policy.bound, policy.confidence_level)
    if policy.target_precision is None:
        return policy.spot_check_rate, bound
    gap = policy.target_precision + policy.spot_check_margin - bound
    closeness = min(1.0, max(0.0, gap / policy.spot_check_margin))
    base, ceiling = policy.spot_check_rate, policy.spot_check_ceiling
    return base + (ceiling - base) * closeness, bound


def _with_rate(
    entry: ClassThreshold, verdicts: Sequence[Verdict], policy: Policy
) -> ClassThreshold:
    sampled = len(evidence_filter(policy)(verdicts)) if samples_calibration(policy) else 0
    counted = replace(entry, sampled=sampled)
    return replace(counted, calibration_rate=adaptive_rate(counted, policy))


def _with_pooled_rate(
    classes: dict[str, ClassThreshold], by_label: dict[str, list[Verdict]], policy: Policy
) -> dict[str, ClassThreshold]:
    """Scope "dataset": the bound is pooled over the classes, so is the budget. Each class
    keeps its own count of calibration verdicts (`sampled`), and its rate follows the pooled
    count: once the classes together have `calibration_budget` verdicts, every class draws
    at the floor."""
    if not samples_calibration(policy):
        return {label: replace(entry, sampled=0, calibration_rate=adaptive_rate(entry, policy))
                for label, entry in classes.items()}  # fmt: skip
    keep = evidence_filter(policy)
    sampled = {label: len(keep(by_label.get(label, []))) for label in classes}
    pooled = sum(sampled.values())
    return {
        label: replace(
            entry,
            sampled=sampled[label],
            calibration_rate=adaptive_rate(replace(entry, sampled=pooled), policy),
        )
        for label, entry in classes.items()
    }


def learn_thresholds(
    verdicts: Sequence[Verdict], labels: Sequence[str], policy: Policy
) -> Thresholds:
    """Thresholds for every label of the dataset from the newest `calibration_window`
    verdicts (callers pass them newest first). `min_verified` is each class's
    (`Policy.class_min_verified`) throughout."""
    minimum = policy.class_min_verified(len(labels))
    if minimum != policy.min_verified:
        policy = policy.model_copy(update={"min_verified": minimum})
    window = verdicts[: policy.calibration_window]
    by_label: dict[str, list[Verdict]] = {label: [] for label in labels}
    for verdict in window:
        if verdict.predicted_label in by_label:
            by_label[verdict.predicted_label].append(verdict)
    if policy.precision_scope == "class":
        classes = {label: learn_class(label, by_label[label], policy) for label in labels}
    else:
        classes = learn_dataset(by_label, policy)
    if policy.precision_scope == "class":
        classes = {label: _with_rate(entry, by_label.get(label, []), policy)
                   for label, entry in classes.items()}  # fmt: skip
    else:
        classes = _with_pooled_rate(classes, by_label, policy)
    rate, spot_bound = spot_check_rate(accepted_evidence(window, classes, policy), policy)
    return Thresholds(policy.version, classes, rate, spot_bound, len(window))
