"""Issue 20: the betting confidence sequence, calibration sample sizing, the adaptive
calibration rate, the start-up refusal and the prediction-powered interval."""

from __future__ import annotations

import numpy as np
import pytest
from mitl_contracts.datasets import Policy, min_calibration_labels
from mitl_policy import core
from mitl_policy.bounds import (
    BOUND_METHODS,
    betting_lower,
    log_wealth,
    lower_bound,
    reaches,
    smallest_sufficient_n,
)
from mitl_policy.calibration import (
    ClassThreshold,
    Thresholds,
    Verdict,
    adaptive_rate,
    calibration_draw,
    evidence_filter,
    grid_floor,
    learn_thresholds,
    passing_threshold_of,
)
from mitl_policy.ppi import ppi_interval, precision_intervals, wilson_interval

ADAPTIVE = Policy(
    version="p",
    target_precision=0.95,
    escalation_floor=0.0,
    min_accept_threshold=0.5,
    calibration_rate=0.01,
    calibration_max_rate=0.4,
    calibration_budget=200,
)


def test_wealth_falls_as_the_candidate_precision_rises_to_the_observed_share() -> None:
    for n in (1, 7, 52, 300, 2000):
        for k in range(1, n + 1, max(1, n // 25)):
            p0 = np.linspace(k / n / 1000, k / n, 200)
            wealth = log_wealth(np.full(200, k), np.full(200, n), p0)
            assert np.all(np.diff(wealth) <= 1e-9), (k, n)


def test_betting_bound_is_below_the_share_and_reaches_agrees_with_the_bound() -> None:
    k = np.array([0, 5, 50, 95, 290, 970, 2900])
    n = np.array([10, 5, 52, 100, 300, 1000, 3000])
    low = betting_lower(k, n, 0.95)
    assert low[0] == 0.0
    assert np.all(low <= k / n)
    for target in (0.9, 0.95, 0.96):
        hit = reaches(k, n, target, "betting_cs", 0.95)
        assert list(hit) == [bool(b >= target) for b in low]
    # The sequence pays for holding at every n: wider than Wilson's one look at n.
    assert lower_bound(95, 100, "betting_cs", 0.95) < lower_bound(95, 100, "wilson", 0.95)


def test_betting_bound_holds_at_every_sample_size_at_once() -> None:
    """Monte Carlo: 400 Bernoulli(0.9) streams of 400; the lower bound should exceed 0.9 at
    some n in at most 5 % of them (Ville's inequality)."""
    rng = np.random.default_rng(3)
    crossed = 0
    n = np.arange(1, 401)
    for _ in range(400):
        k = np.cumsum(rng.random(400) < 0.9)
        crossed += bool(np.any(reaches(k, n, 0.9, "betting_cs", 0.95)))
    assert crossed / 400 <= 0.05


@pytest.mark.parametrize("target", [0.8, 0.9, 0.95, 0.98, 0.99])
def test_minimum_calibration_budget_matches_the_bounds(target: float) -> None:
    for method in BOUND_METHODS:
        assert min_calibration_labels(target, method, 0.95) == smallest_sufficient_n(
            target, method, 0.95
        )
    assert min_calibration_labels(0.95, "wilson", 0.95) == 52
    assert min_calibration_labels(0.95, "betting_cs", 0.95) == 88


def test_a_budget_that_cannot_certify_the_target_is_refused_with_the_minimum() -> None:
    with pytest.raises(ValueError, match="the minimum budget is 52"):
        Policy(target_precision=0.95, calibration_max_rate=0.3, calibration_budget=51)
    with pytest.raises(ValueError, match="the minimum budget is 88"):
        Policy(
            target_precision=0.95, bound="betting_cs", calibration_max_rate=0.3,
            calibration_budget=87,
        )  # fmt: skip
    assert Policy(target_precision=0.95, calibration_max_rate=0.3, calibration_budget=52)
    with pytest.raises(ValueError, match="needs target_precision and calibration_max_rate"):
        Policy(target_precision=0.95, calibration_budget=100)
    with pytest.raises(ValueError, match="must not exceed calibration_max_rate"):
        Policy(target_precision=0.95, calibration_rate=0.5, calibration_max_rate=0.3)


def test_the_rate_starts_high_decays_once_certified_rises_near_the_target_within_budget() -> None:
    cold = ClassThreshold("A", None, 10, sampled=10)
    assert adaptive_rate(cold, ADAPTIVE) == 0.4
    spent = ClassThreshold("A", None, 500, sampled=200)
    assert adaptive_rate(spent, ADAPTIVE) == 0.01
    safe = ClassThreshold("A", 0.9, 500, 300, 299, lower_bound=0.97, sampled=300)
    assert adaptive_rate(safe, ADAPTIVE) == 0.01
    near = ClassThreshold("A", 0.9, 500, 150, 145, lower_bound=0.955, sampled=150)
    assert adaptive_rate(near, ADAPTIVE) == pytest.approx(0.01 + 0.39 * 0.5)
    # Near the target with the budget (200) spent: the floor; more evidence comes at that rate.
    near_spent = ClassThreshold("A", 0.9, 500, 300, 290, lower_bound=0.955, sampled=300)
    assert adaptive_rate(near_spent, ADAPTIVE) == 0.01
    fixed = Policy(target_precision=0.95, calibration_rate=0.05)
    assert adaptive_rate(cold, fixed) == 0.05


def test_a_floor_budget_ends_the_floor_draws_of_a_certified_class() -> None:
    priced = ADAPTIVE.model_copy(update={"calibration_floor_budget": 50})
    # Certified, the budget (200) spent, fewer than 200 + 50: the floor still draws.
    safe = ClassThreshold("A", 0.9, 500, 240, 239, lower_bound=0.97, sampled=249)
    assert adaptive_rate(safe, priced) == 0.01
    # 250 calibration labels: the floor is paid for, no new version draws again.
    done = ClassThreshold("A", 0.9, 500, 250, 249, lower_bound=0.97, sampled=250)
    assert adaptive_rate(done, priced) == 0.0
    # Without a floor budget the floor draws for good (the policy as before).
    assert adaptive_rate(done, ADAPTIVE) == 0.01
    # A certificate withdrawn (no threshold) draws at the floor again, however much was spent.
    withdrawn = ClassThreshold("A", None, 900, sampled=900)
    assert adaptive_rate(withdrawn, priced) == 0.01
    # Near the target within the budget: still the raised rate, as without a floor budget.
    near = ClassThreshold("A", 0.9, 500, 150, 145, lower_bound=0.955, sampled=150)
    assert adaptive_rate(near, priced) == adaptive_rate(near, ADAPTIVE)


def test_a_rate_of_zero_samples_nothing_and_the_floor_budget_needs_a_budget() -> None:
    thresholds = Thresholds("p", {"A": ClassThreshold("A", 0.9, 0, calibration_rate=0.0)}, 0.0)
    priced = ADAPTIVE.model_copy(update={"calibration_floor_budget": 0})
    assert thresholds.calibration_rate("A", priced) == 0.0
    row = Verdict("A", 0.95, True, item_id="i1", model_version="m1", calibration_rate=0.0)
    assert evidence_filter(priced)([row]) == []
    with pytest.raises(ValueError, match="calibration_floor_budget needs calibration_budget"):
        Policy(target_precision=0.95, calibration_rate=0.01, calibration_floor_budget=10)


def test_in_dataset_scope_the_floor_budget_is_pooled_like_the_budget() -> None:
    rows = [
        Verdict(label, 0.6 + 0.39 * (i % 100) / 100, True, item_id=f"{label}{i}",
                model_version="m1", calibration_rate=1.0)
        for label in ("A", "B") for i in range(130)
    ]  # fmt: skip
    priced = ADAPTIVE.model_copy(update={"calibration_floor_budget": 50})
    learned = learn_thresholds(rows, ["A", "B"], priced)
    # 260 pooled >= 200 + 50: both certified classes stop drawing, though each has 130.
    assert all(c.threshold is not None for c in learned.classes.values())
    assert {c.calibration_rate for c in learned.classes.values()} == {0.0}
    learned = learn_thresholds(rows[:100] + rows[130:245], ["A", "B"], priced)
    assert {c.calibration_rate for c in learned.classes.values()} == {0.01}


def test_routing_draws_at_the_rate_in_force_and_records_it() -> None:
    from mitl_contracts.events import ItemContent, Prediction

    thresholds = Thresholds(
        "p", {"A": ClassThreshold("A", None, 0, calibration_rate=0.4),
              "B": ClassThreshold("B", None, 0, calibration_rate=0.01)}, 0.0,
    )  # fmt: skip
    context = core.RouteContext(thresholds=thresholds)
    sampled = {"A": 0, "B": 0}
    for i in range(300):
        for label, probs in (("A", [0.9, 0.1]), ("B", [0.1, 0.9])):
            prediction = Prediction(
                event_id=f"e-{label}-{i}", dataset="d", item_id=f"{label}{i}",
                content=ItemContent(text="x"), model_version="m1", labels=["A", "B"],
                probabilities=probs,
            )  # fmt: skip
            routed = core.route(prediction, ADAPTIVE, now=core_now(), context=context)
            rate = 0.4 if label == "A" else 0.01
            assert routed.decision.thresholds["calibration_rate"] == rate
            in_sample = calibration_draw(f"{label}{i}", "m1") < rate
            assert (routed.decision.priority >= core.CALIBRATION_PRIORITY) == in_sample
            sampled[label] += int(in_sample)
    assert 90 <= sampled["A"] <= 150 and sampled["B"] <= 10


def core_now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime(2026, 1, 1, tzinfo=UTC)


def test_the_evidence_is_the_sample_at_the_rate_each_decision_recorded() -> None:
    rows = [
        Verdict("A", 0.9, True, item_id=f"i{i}", model_version="m1", calibration_rate=rate)
        for i in range(400)
        for rate in (0.5,)
    ]
    kept = evidence_filter(ADAPTIVE)(rows)
    assert kept == [v for v in rows if calibration_draw(v.item_id, "m1") < 0.5]
    low = [Verdict("A", 0.9, True, item_id=f"i{i}", model_version="m1", calibration_rate=0.0)
           for i in range(50)]  # fmt: skip
    assert evidence_filter(ADAPTIVE)(low) == []


def test_adaptive_rates_come_out_of_learning() -> None:
    rows = [
        Verdict("A", 0.6 + 0.39 * (i % 100) / 100, True, item_id=f"i{i}", model_version="m1",
                calibration_rate=1.0)
        for i in range(400)
    ]  # fmt: skip
    # Scope "class": each class has a budget of its own; B has spent nothing of it.
    per_class = ADAPTIVE.model_copy(update={"precision_scope": "class"})
    learned = learn_thresholds(rows, ["A", "B"], per_class)
    a, b = learned.classes["A"], learned.classes["B"]
    assert a.threshold is not None and a.sampled == 400 and a.calibration_rate == 0.01
    assert b.threshold is None and b.calibration_rate == 0.4
    assert learned.calibration_rate("B", per_class) == 0.4
    # Scope "dataset" (the default): the bound is pooled over the classes, and so is the
    # budget. A's 400 calibration labels spent it for both classes.
    learned = learn_thresholds(rows, ["A", "B"], ADAPTIVE)
    a, b = learned.classes["A"], learned.classes["B"]
    assert (a.sampled, b.sampled) == (400, 0)
    assert a.calibration_rate == b.calibration_rate == 0.01


def test_in_dataset_scope_the_classes_share_the_budget_until_it_is_spent() -> None:
    def rows(label: str, n: int) -> list[Verdict]:
        # One in 25 wrong: 0.96 precise, not yet certifiable at 0.95 on a few hundred.
        return [
            Verdict(label, 0.6 + 0.39 * (i % 100) / 100, i % 25 != 0, item_id=f"{label}{i}",
                    model_version="m1", calibration_rate=1.0)
            for i in range(n)
        ]  # fmt: skip

    # 60 + 60 calibration labels, 120 of the 200: both classes still draw at the ceiling.
    learned = learn_thresholds(rows("A", 60) + rows("B", 60), ["A", "B"], ADAPTIVE)
    assert [c.threshold for c in learned.classes.values()] == [None, None]
    assert {c.calibration_rate for c in learned.classes.values()} == {0.4}
    # 110 + 110: the pooled 220 are over the budget, though neither class alone is.
    learned = learn_thresholds(rows("A", 110) + rows("B", 110), ["A", "B"], ADAPTIVE)
    assert [c.sampled for c in learned.classes.values()] == [110, 110]
    assert {c.calibration_rate for c in learned.classes.values()} == {0.01}
    per_class = ADAPTIVE.model_copy(update={"precision_scope": "class"})
    learned = learn_thresholds(rows("A", 110) + rows("B", 110), ["A", "B"], per_class)
    assert {c.calibration_rate for c in learned.classes.values()} == {0.4}


def test_the_anytime_scan_tests_fixed_grid_points() -> None:
    grid = grid_floor(np.array([0.4, 0.5, 0.74, 0.76, 0.99, 1.0]), 0.5)
    assert grid[0] == 0.4 and grid[1] == 0.5 and grid[2] == pytest.approx(1 - 0.5 / 2**0.5)
    assert grid[3] == 0.75 and grid[4] <= 0.99 and grid[5] < 1.0
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 3000)
    correct = np.ones(3000, dtype=np.int64)
    policy = ADAPTIVE.model_copy(update={"bound": "betting_cs"})
    threshold, n, k, bound = passing_threshold_of(confidence, correct, policy)
    assert threshold == 0.5 and n == k == 3000 and bound > 0.99
    assert threshold in set(grid_floor(confidence, 0.5))


def test_the_bound_check_counts_false_certifications() -> None:
    from mitl_ml.sim.boundcheck import BoundCheck, bound_check

    result = bound_check(BoundCheck(streams=30, horizon=400, seed=1))
    rates = result["false_certification_rate"]
    assert set(rates) == set(BOUND_METHODS)
    assert rates["betting_cs"] <= rates["wilson"]
    assert all(result["last_look_rate"][b] <= rates[b] for b in BOUND_METHODS)
    with pytest.raises(ValueError, match="target - gap"):
        BoundCheck(target=0.95, gap=0.96)


def test_prediction_powered_interval_is_narrower_when_confidence_tracks_correctness() -> None:
    rng = np.random.default_rng(5)
    confidence = rng.uniform(0.9, 1.0, 5000)
    correct = rng.random(5000) < confidence  # calibrated model
    checked = [(float(c), bool(y)) for c, y in zip(confidence[:200], correct[:200], strict=True)]
    both = precision_intervals(list(map(float, confidence)), checked)
    assert both is not None
    truth = float(confidence.mean())
    assert both.ppi.low <= truth <= both.ppi.high
    assert both.ppi.width < both.wilson.width and both.narrower > 0
    assert both.as_dict()["ppi_narrower_by"] == both.narrower
    assert precision_intervals([0.9], []) is None
    with pytest.raises(ValueError):
        ppi_interval([], [(0.9, True)], 0.95)
    interval = wilson_interval(9, 10, 0.95)
    assert interval.low < 0.9 < interval.high


def test_a_few_checks_all_right_do_not_make_the_interval_sure_of_itself() -> None:
    # 12 spot checks, all right, at confidence 0.95: the large-sample interval said
    # [0.98, 1.0]; the rectifier's pseudo-checks widen it to about Wilson's, and the estimate
    # (from the checks as they are) stays within [0, 1].
    confidences = [0.97] * 195
    checked = [(0.95, True)] * 12
    plain = ppi_interval(confidences, checked, 0.95, pseudo_pairs=0)
    shipped = ppi_interval(confidences, checked, 0.95)
    wilson = wilson_interval(12, 12, 0.95)
    assert plain.low == 1.0 and wilson.low < 0.76
    assert shipped.low < wilson.low + 0.05 and shipped.high == 1.0
    assert 0.0 <= shipped.estimate <= 1.0 and shipped.estimate == plain.estimate == 1.0


def test_the_interval_holds_the_true_precision_at_high_precision_and_few_checks() -> None:
    # Confidences of realistic spread (Beta(49, 1), precision about 0.98), 30 checks: the
    # large-sample interval held the truth in about 45 % of samples; the shipped one in 95 %
    # or more (scripts/ppi_coverage.py gives the whole table).
    rng = np.random.default_rng(7)
    held = {0: 0, 1: 0}
    trials = 300
    for _ in range(trials):
        f = rng.beta(49, 1, size=1000)
        right = rng.random(1000) < f
        truth = float(right.mean())
        picked = rng.choice(1000, 30, replace=False)
        checked = [(float(f[i]), bool(right[i])) for i in picked]
        for pairs in held:
            interval = ppi_interval(f.tolist(), checked, 0.95, pseudo_pairs=pairs)
            held[pairs] += interval.low <= truth <= interval.high
    assert held[0] / trials < 0.7
    assert held[1] / trials >= 0.95


def test_a_scan_start_tolerance_survives_one_confident_mistake() -> None:
    confidence = np.linspace(0.999, 0.9, 400)
    correct = np.ones(400, dtype=np.int64)
    correct[0] = 0  # the most confident item is wrong
    strict = Policy(target_precision=0.95, min_verified=10, min_accept_threshold=0.5)
    threshold, *_ = passing_threshold_of(confidence, correct, strict)
    assert np.isnan(threshold)  # the first candidate (top 52) fails: the scan stops there
    tolerant = strict.model_copy(update={"scan_start_errors": 0.25})
    threshold, n, k, bound = passing_threshold_of(confidence, correct, tolerant)
    assert threshold == pytest.approx(0.9) and (n, k) == (400, 399) and bound >= 0.95
