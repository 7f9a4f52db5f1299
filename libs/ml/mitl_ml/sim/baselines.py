"""Baselines for full-coverage mode, on the same data, people and model as the loop.

- review_all: people label every item.
- ground_truth_style: people label a random validation sample; one global threshold is chosen
  on it for the same target with the same bound as the router (mitl_policy.calibration's
  `passing_threshold`), from out-of-fold confidences so the threshold is not judged on the items
  the model learned; the model trained on the whole sample accepts the rest at or above the
  threshold and people label the others. Sample sizes from SAMPLE_SIZES are tried and the one
  needing the fewest labels is reported (the baseline gets its best case).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from mitl_contracts.datasets import Policy
from mitl_policy.calibration import Verdict, passing_threshold
from sklearn.model_selection import KFold

from mitl_ml.sim.head import Head
from mitl_ml.sim.oracle import Oracle
from mitl_ml.sim.results import CoverageResult
from mitl_ml.sim.world import World

SAMPLE_SIZES = (250, 500, 1000, 2000)
FOLDS = 5


def review_all(world: World, policy: Policy, *, seed: int, oracle: Oracle) -> CoverageResult:
    n = len(world.truth)
    result = CoverageResult("review_all", world.name, seed, float(policy.target_precision or 0), n)
    return labeled_by_people(result, world.truth, oracle.annotator_answers)


def labeled_by_people(
    result: CoverageResult, truth: np.ndarray, annotator_answers: np.ndarray
) -> CoverageResult:
    """People label every item: one human label per item, right where the annotator's answer
    is (element-wise, so per label decision for a multi-label run)."""
    result.human_labels = len(truth)
    result.final_correct = int((annotator_answers == truth).sum())
    return result


def draw_sample(
    n: int, seed: int, size: int, annotator_answers: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The baseline's random validation sample of `size` of `n` items: the seeded order,
    the sample (its first `size`), the rest, and the annotators' answers on the sample."""
    order = np.random.default_rng([seed, 2]).permutation(n)
    sample, rest = order[:size], order[size:]
    return order, sample, rest, annotator_answers[sample]


def accepted_at(confidences: np.ndarray, threshold: float) -> np.ndarray:
    """Which items the one global threshold accepts (none when no threshold reached the
    target: `threshold` is NaN)."""
    if math.isnan(threshold):
        return np.zeros(len(confidences), dtype=bool)
    return np.asarray(confidences >= threshold)


# What a ground-truth-style baseline's model says at one sample size, given the sample, the
# annotators' answers on it and the rest: the (out-of-fold) verdicts on the sample that the
# one threshold is learned from, then each of the rest's confidence and predicted label.
SampleModel = Callable[
    [np.ndarray, np.ndarray, np.ndarray], tuple[list[Verdict], np.ndarray, np.ndarray]
]


@dataclass(frozen=True)
class Sampled:
    """The rest of the items (past the sample), which of them were accepted and the
    model's predicted labels for them (rows of the rest)."""

    rest: np.ndarray
    accepted: np.ndarray
    predicted: np.ndarray


def ground_truth_baseline(
    new_result: Callable[[], CoverageResult],
    truth: np.ndarray,
    annotator_answers: np.ndarray,
    policy: Policy,
    seed: int,
    model: SampleModel,
    progress: Callable[[int, int], None] | None = None,
    finish: Callable[[CoverageResult, Sampled], None] | None = None,
) -> CoverageResult:
    """The baseline for any task, at its best sample size (best_sample_size). At each size
    people label a random sample (draw_sample), `model` gives the verdicts one threshold is
    learned from (under the policy's target and bound) and its confidences on the rest, the
    rest at or above the threshold is accepted, and a `new_result()` is filled in (settle);
    `finish(result, sampled)` adds a task's own counts."""

    def one_sample(size: int) -> CoverageResult:
        result = new_result()
        order, sample, rest, answers = draw_sample(len(truth), seed, size, annotator_answers)
        verdicts, confidences, predicted = model(sample, answers, rest)
        threshold, *_ = passing_threshold(verdicts, policy)
        accepted = accepted_at(confidences, threshold)
        settle(result, truth, annotator_answers, order, size, answers, accepted, predicted,
               threshold)  # fmt: skip
        if finish is not None:
            finish(result, Sampled(rest, accepted, predicted))
        return result

    return best_sample_size(len(truth), one_sample, progress)


def _sample_model(
    world: World, seed: int, sample: np.ndarray, answers: np.ndarray, rest: np.ndarray
) -> tuple[list[Verdict], np.ndarray, np.ndarray]:
    """The head's out-of-fold verdicts on the sample; trained on all of it, its top
    probability and label on the rest."""
    k = len(world.labels)
    verdicts = []
    for train, held in KFold(FOLDS, shuffle=True, random_state=seed).split(sample):
        head = Head(world.x[sample[train]], answers[train], k, seed, "fold")
        probs = head.predict_proba(world.x[sample[held]])
        for row, j in zip(probs, held, strict=True):
            verdicts.append(Verdict("*", float(row.max()), int(row.argmax()) == answers[j]))
    probs = Head(world.x[sample], answers, k, seed, "gt").predict_proba(world.x[rest])
    return verdicts, probs.max(axis=1), probs.argmax(axis=1)


def settle(
    result: CoverageResult,
    truth: np.ndarray,
    annotator_answers: np.ndarray,
    order: np.ndarray,
    size: int,
    answers: np.ndarray,
    accepted: np.ndarray,
    predicted: np.ndarray,
    threshold: float,
) -> CoverageResult:
    """Fill in the baseline's counts: people labeled the first `size` of `order` (`answers`)
    and the rest that was not `accepted`; the model's `predicted` labels (rows of the rest)
    stand for the accepted ones. Counts compare rows of `truth` element-wise, so a multi-label
    row counts one per label decision."""
    sample, rest = order[:size], order[size:]
    human_rest = rest[~accepted]
    truth_rest = truth[rest]
    result.human_labels = size + len(human_rest)
    result.auto_accepted = result.model_labeled = int(accepted.sum())
    result.accepted_correct = int((predicted[accepted] == truth_rest[accepted]).sum())
    result.final_correct = (
        int((answers == truth[sample]).sum())
        + int((annotator_answers[human_rest] == truth[human_rest]).sum())
        + result.accepted_correct
    )
    result.rounds = 1
    result.details = {"sample_size": size, "threshold": round(threshold, 4)}
    return result


def best_sample_size(
    n: int,
    one_sample: Callable[[int], CoverageResult],
    progress: Callable[[int, int], None] | None = None,
) -> CoverageResult:
    """The baseline at the sample size (of SAMPLE_SIZES, those under `n`) that needed the
    fewest human labels, then labeled most right; `progress(done, total)` counts sizes."""
    sizes = [s for s in SAMPLE_SIZES if s < n] or [n // 2]
    runs = []
    for done, size in enumerate(sizes):
        if progress is not None:
            progress(done, len(sizes))
        runs.append(one_sample(size))
    if progress is not None:
        progress(len(sizes), len(sizes))
    return min(runs, key=lambda r: (r.human_labels, -r.final_correct))


def ground_truth_style(
    world: World,
    policy: Policy,
    *,
    seed: int,
    oracle: Oracle,
    progress: Callable[[int, int], None] | None = None,
) -> CoverageResult:
    """The best of the sample sizes; `progress(done, total)` counts sample sizes tried."""
    target = float(policy.target_precision or 0)
    return ground_truth_baseline(
        lambda: CoverageResult("ground_truth", world.name, seed, target, len(world.truth)),
        world.truth, oracle.annotator_answers, policy, seed,
        partial(_sample_model, world, seed), progress,
    )  # fmt: skip
