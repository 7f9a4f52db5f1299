"""The hindsight ceiling at GT's accuracy: the most a confidence-threshold policy could
accept with at most GT's mistakes (exact against brute force), and its place in the report."""

from __future__ import annotations

import itertools

import numpy as np
from mitl_ml.sim.ceiling import (
    Hindsight,
    accepted_within,
    ceiling_at,
    most_accepted_one_threshold,
    most_accepted_per_class,
    out_of_fold,
)
from mitl_ml.sim.report import coverage_lines, report
from mitl_ml.sim.results import CoverageResult
from mitl_ml.sim.runner import CoverageRun, SimConfig, runs

from tests.unit.sim.fakes import synthetic_world


def hindsight(rows: list[tuple[float, int, bool]]) -> Hindsight:
    """Items as (confidence, predicted class, wrong)."""
    confidence, predicted, wrong = zip(*rows, strict=True)
    return Hindsight(np.array(confidence), np.array(predicted), np.array(wrong))


def test_the_longest_confident_run_within_each_number_of_mistakes() -> None:
    wrong = np.array([False, False, True, False, True, False])
    assert accepted_within(wrong, 3).tolist() == [2, 4, 6, 6]
    assert accepted_within(np.array([True, False]), 1).tolist() == [0, 2]


def test_per_class_thresholds_spend_the_mistakes_where_they_buy_most() -> None:
    items = hindsight(
        [
            # class 0: one mistake second from the top, then three right
            (0.99, 0, False), (0.98, 0, True), (0.97, 0, False), (0.96, 0, False),
            (0.95, 0, False),
            # class 1: right, a mistake, one right
            (0.94, 1, False), (0.93, 1, True), (0.50, 1, False),
        ]
    )  # fmt: skip
    assert most_accepted_per_class(items, 0) == 2  # the top of each class
    assert most_accepted_per_class(items, 1) == 6  # class 0's mistake buys three more
    assert most_accepted_per_class(items, 2) == 8
    # One threshold: the second most confident item is already wrong.
    assert most_accepted_one_threshold(items, 0) == 1
    assert most_accepted_one_threshold(items, 1) == 6  # down to 0.94, before 0.93's mistake
    assert most_accepted_one_threshold(items, 2) == 8


def brute_force(items: Hindsight, max_errors: int) -> int:
    """Every combination of per-class thresholds (each a prefix of the class by confidence)."""
    classes = np.unique(items.predicted)
    orders = [
        np.flatnonzero(items.predicted == c)[
            np.argsort(-items.confidence[items.predicted == c], kind="stable")
        ]
        for c in classes
    ]
    best = 0
    for cut in itertools.product(*(range(len(o) + 1) for o in orders)):
        taken = np.concatenate([o[:k] for o, k in zip(orders, cut, strict=True)])
        if items.wrong[taken].sum() <= max_errors:
            best = max(best, len(taken))
    return best


def test_per_class_ceiling_matches_brute_force() -> None:
    rng = np.random.default_rng(7)
    for _ in range(30):
        n = int(rng.integers(3, 12))
        items = Hindsight(rng.random(n), rng.integers(0, 3, n), rng.random(n) < 0.3)
        for max_errors in range(3):
            assert most_accepted_per_class(items, max_errors) == brute_force(items, max_errors)
            assert most_accepted_one_threshold(items, max_errors) <= brute_force(items, max_errors)


def test_the_ceiling_allows_gts_mistakes_and_counts_its_labels() -> None:
    items = hindsight([(0.9, 0, False), (0.8, 0, True), (0.7, 1, False), (0.6, 1, False)])
    gt = CoverageResult("ground_truth", "t", 0, 0.9, 4, human_labels=3, final_correct=4)
    ceiling = ceiling_at(items, gt)  # GT made no mistake: none allowed
    assert (ceiling.max_errors, ceiling.per_class_labels, ceiling.one_threshold_labels) == (
        0,
        1,
        3,
    )
    out = ceiling.as_dict()
    assert out["per_class_thresholds"] == {"human_labels": 1, "labels_saved_vs_gt": 1 - 1 / 3}
    assert out["one_threshold"] == {"human_labels": 3, "labels_saved_vs_gt": 0.0}


def test_out_of_fold_predictions_cover_every_item() -> None:
    world = synthetic_world(n=300)
    items = out_of_fold(world, seed=0)
    assert items.confidence.shape == items.predicted.shape == items.wrong.shape == (300,)
    assert np.all((items.confidence >= 1 / 3) & (items.confidence <= 1))
    assert items.wrong.tolist() == (items.predicted != world.truth).tolist()
    assert items.wrong.mean() < 0.3  # a head trained on 4/5 of the items, not a guess


def test_simulate_reports_the_ceiling_only_with_error_free_annotators() -> None:
    world = synthetic_world()
    config = SimConfig(dataset="synthetic", seeds=(0,), target=0.9, retrain_every=40, initial=30)
    (run,) = list(runs(config, world=world))
    assert isinstance(run, CoverageRun) and run.ceiling is not None
    out = report(run, config)
    ceiling = out["ceiling_at_gt_accuracy"]
    assert isinstance(ceiling, dict)
    assert ceiling["max_errors"] == run.loop.items - run.ground_truth.final_correct
    per_class, one = ceiling["per_class_thresholds"], ceiling["one_threshold"]
    assert per_class["human_labels"] <= one["human_labels"] <= run.loop.items
    assert any("hindsight ceiling at GT's accuracy" in line for line in coverage_lines(out))

    noisy = SimConfig(**{**config.__dict__, "error_rate": 0.05})
    (run,) = list(runs(noisy, world=world))
    assert isinstance(run, CoverageRun) and run.ceiling is None
    assert report(run, noisy)["ceiling_at_gt_accuracy"] is None
