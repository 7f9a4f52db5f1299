"""Threshold learning: bounds, cold start, the fixed-sequence scan, scopes, spot-check share."""

from __future__ import annotations

import pytest
from mitl_contracts.datasets import Policy
from mitl_policy.bounds import lower_bound, smallest_sufficient_n, upper_bound
from mitl_policy.calibration import Verdict, learn_class, learn_thresholds, spot_check_rate

POLICY = Policy(version="p", target_precision=0.9, min_verified=10, spot_check_rate=0.01)


def verdicts(label: str, confidences: list[float], wrong: set[int] = frozenset()) -> list[Verdict]:
    return [Verdict(label, c, i not in wrong) for i, c in enumerate(confidences)]


def test_bounds_match_known_values_and_order() -> None:
    assert lower_bound(0, 0, "wilson", 0.95) == 0.0
    assert lower_bound(20, 20, "clopper_pearson", 0.95) == pytest.approx(0.05 ** (1 / 20))
    for method in ("wilson", "clopper_pearson"):
        low = lower_bound(90, 100, method, 0.95)  # type: ignore[arg-type]
        assert low < 0.9 < upper_bound(90, 100, method, 0.95)  # type: ignore[arg-type]
    assert smallest_sufficient_n(0.98, "wilson", 0.95) == 133
    assert smallest_sufficient_n(0.98, "clopper_pearson", 0.95) == 149
    with pytest.raises(ValueError, match="0 <= k <= n"):
        lower_bound(3, 2, "wilson", 0.95)


def test_too_few_verified_items_leave_the_class_cold() -> None:
    entry = learn_class("A", verdicts("A", [0.99] * 9), POLICY)
    assert entry.threshold is None and entry.verified == 9


def test_threshold_is_the_lowest_where_the_bound_reaches_the_target() -> None:
    confidences = [1.0 - i / 100 for i in range(60)]  # 1.00 .. 0.41
    wrong = set(range(40, 60))  # everything under 0.61 is wrong
    entry = learn_class("A", verdicts("A", confidences, wrong), POLICY)
    assert entry.threshold is not None
    n_above = sum(c >= entry.threshold for c in confidences)
    k_above = sum(c >= entry.threshold and i not in wrong for i, c in enumerate(confidences))
    assert lower_bound(k_above, n_above, "wilson", 0.95) >= 0.9
    lower = max(c for c in confidences if c < entry.threshold)
    n_lower = sum(c >= lower for c in confidences)
    k_lower = sum(c >= lower and i not in wrong for i, c in enumerate(confidences))
    assert lower_bound(k_lower, n_lower, "wilson", 0.95) < 0.9
    assert entry.support == n_above and entry.lower_bound >= 0.9


def test_ties_are_taken_together_and_floor_applies() -> None:
    policy = POLICY.model_copy(update={"min_accept_threshold": 0.95})
    entry = learn_class("A", verdicts("A", [0.9] * 40), policy)
    assert entry.threshold is None  # every candidate is under min_accept_threshold
    entry = learn_class("A", verdicts("A", [0.97] * 40), policy)
    assert entry.threshold == 0.97 and entry.support == 40


def test_dataset_scope_pools_classes_and_raises_a_class_that_falls_short() -> None:
    good = verdicts("A", [0.99 - i / 1000 for i in range(60)])
    # B looks fine in the pool's shadow but its own items above 0.9 are half wrong.
    bad = verdicts("B", [0.95 - i / 100 for i in range(20)], wrong=set(range(0, 20, 2)))
    learned = learn_thresholds([*good, *bad], ["A", "B", "C"], POLICY)
    assert learned.classes["A"].threshold is not None
    b = learned.classes["B"].threshold
    assert b is None or b > 0.95
    assert learned.classes["C"].threshold is None and learned.classes["C"].verified == 0
    assert learned.warm and learned.needs_calibration("C", POLICY.min_verified)
    assert not learned.needs_calibration("A", POLICY.min_verified)


def test_class_scope_needs_evidence_per_class() -> None:
    policy = POLICY.model_copy(update={"precision_scope": "class"})
    many = verdicts("A", [0.99] * 40)
    few = verdicts("B", [0.99] * 12)
    learned = learn_thresholds([*many, *few], ["A", "B"], policy)
    assert learned.classes["A"].threshold == 0.99
    assert learned.classes["B"].threshold is None  # 12 correct do not bound precision >= 0.9


def test_calibration_window_keeps_the_newest_verdicts() -> None:
    policy = POLICY.model_copy(update={"calibration_window": 30})
    newest = verdicts("A", [0.99] * 30)
    oldest = verdicts("A", [0.99] * 30, wrong=set(range(30)))
    assert learn_thresholds([*newest, *oldest], ["A"], policy).classes["A"].threshold == 0.99
    assert learn_thresholds([*oldest, *newest], ["A"], policy).classes["A"].threshold is None


def test_spot_check_share_rises_as_the_bound_nears_the_target() -> None:
    policy = POLICY.model_copy(update={"spot_check_max_rate": 0.2, "spot_check_margin": 0.05})
    none_yet, _ = spot_check_rate([], policy)
    assert none_yet == pytest.approx(0.2)  # no evidence: the ceiling
    clean = [Verdict("A", 0.99, True, spot_check=True)] * 400
    relaxed, bound = spot_check_rate(clean, policy)
    assert bound > 0.95 and relaxed == pytest.approx(0.01)
    mixed = clean[:300] + [Verdict("A", 0.99, False, spot_check=True)] * 20
    between, bound = spot_check_rate(mixed, policy)
    assert 0.9 < bound < 0.95 and 0.01 < between <= 0.2
    raw, _ = spot_check_rate(clean, Policy(spot_check_rate=0.03))
    assert raw == 0.03  # a raw-threshold policy keeps its fixed share


def test_calibration_sample_alone_bounds_thresholds_when_the_rate_is_set() -> None:
    from mitl_policy.calibration import calibration_draw, in_calibration_sample

    policy = POLICY.model_copy(update={"calibration_rate": 0.5, "min_verified": 10})
    # Every sampled verdict is right, every other one (e.g. picked by active learning) wrong.
    sample = [
        Verdict("A", 0.95, in_calibration_sample(f"i{i}", "m1", 0.95, policy), False, f"i{i}", "m1")
        for i in range(400)
    ]
    sampled = sum(v.correct for v in sample)
    assert 150 <= sampled <= 250
    assert learn_class("A", sample, policy).threshold == 0.95  # bounded on the sample only
    assert learn_class("A", sample, POLICY).threshold is None  # bounded on everything
    dataset = learn_thresholds(sample, ["A", "B"], policy)
    assert dataset.classes["A"].threshold == 0.95 and dataset.classes["A"].verified == 400
    # Each model version draws its own sample.
    assert calibration_draw("i1", "m1") != calibration_draw("i1", "m2")


def test_calibration_rate_needs_a_target_precision() -> None:
    with pytest.raises(ValueError, match="calibration_rate"):
        Policy(calibration_rate=0.1)


def test_the_scan_stops_at_the_first_failing_candidate() -> None:
    """A dip that fails the bound ends the scan, even when the bound recovers below it."""
    policy = Policy(version="p", target_precision=0.9, min_verified=10)
    confidences = [1.0 - i / 1000 for i in range(300)]
    # Right above 0.9 the class is clean; then 6 misses in a row make the bound fail at
    # 0.954-0.949; below that 250 right answers would lift it back over 0.9.
    wrong = set(range(40, 46))
    entry = learn_class("A", verdicts("A", confidences, wrong), policy)
    assert entry.threshold is not None
    # The old rule (lowest passing candidate anywhere) went down to 0.701, under the misses.
    assert entry.threshold > max(confidences[i] for i in wrong)


def test_the_bound_holds_at_its_level_when_the_threshold_is_chosen_on_the_same_data() -> None:
    """Precision falls with confidence and crosses the target. Over many random validation
    samples, the accepted region's true precision is under the target in at most about 5 %
    of them (the bound's level, 95 %); picking the lowest passing candidate anywhere, as the
    scan once did, would fail far more often."""
    import numpy as np
    from mitl_policy.calibration import passing_threshold

    policy = Policy(
        version="p",
        target_precision=0.95,
        min_verified=10,
        min_accept_threshold=0.01,
        escalation_floor=0.0,
    )
    rng = np.random.default_rng(7)
    grid = np.linspace(1.0, 0.0, 2001)
    # True precision at confidence c: 1.0 at the top, falling to 0.5 at 0.
    precision = 0.5 + 0.5 * grid**0.5

    def true_precision_above(threshold: float) -> float:
        above = precision[grid >= threshold]
        return float(above.mean())

    failures = 0
    trials = 300
    for _ in range(trials):
        conf = rng.uniform(0, 1, 600)
        correct = rng.uniform(0, 1, 600) < 0.5 + 0.5 * conf**0.5
        sample = [Verdict("A", float(c), bool(k)) for c, k in zip(conf, correct, strict=True)]
        threshold, *_ = passing_threshold(sample, policy)
        if not np.isnan(threshold) and true_precision_above(threshold) < 0.95:
            failures += 1
    assert failures / trials <= 0.08
