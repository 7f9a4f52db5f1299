"""The most any confidence-threshold policy could save at GT's accuracy, in hindsight.

`at_gt_accuracy` (matched.py) asks how many labels the loop needs to label as right as the
Ground-Truth-style baseline did. Where the loop falls short, is it the policy or the model?
This answers with a ceiling that no policy accepting by confidence can pass:
- every item gets the head's out-of-fold prediction, from a head trained on the other
  (FOLDS - 1) / FOLDS of the items with their true labels, for free (the loop pays for every
  label it trains on, and early items meet heads trained on a few hundred);
- the thresholds are chosen knowing which predictions are wrong: the most items accepted with
  at most as many mistakes as GT's final labels hold (people make none, as the annotators of a
  run with `--annotator-error 0`), every other item labeled by a person, nothing spot-checked
  and nothing spent on calibration.
Two ceilings: one threshold per predicted class (what the router learns; found exactly by
dynamic programming over how the mistakes are shared between the classes), and one global
threshold (what GT learns). Where even the per-class ceiling is under a labels-saved figure,
no confidence-threshold policy can reach it with this model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold

from mitl_ml.sim.baselines import FOLDS
from mitl_ml.sim.head import Head
from mitl_ml.sim.results import CoverageResult
from mitl_ml.sim.world import World


@dataclass(frozen=True)
class Hindsight:
    """Each item's out-of-fold prediction: its confidence, its class and whether it is wrong."""

    confidence: np.ndarray
    predicted: np.ndarray
    wrong: np.ndarray


def out_of_fold(world: World, seed: int) -> Hindsight:
    """The head's out-of-fold predictions on every item of `world` (stratified folds; a
    class with fewer items than FOLDS is spread as far as it goes)."""
    n, k = len(world.truth), len(world.labels)
    folds = min(FOLDS, int(np.bincount(world.truth).max()))
    probs = np.zeros((n, k))
    splits = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for train, held in splits.split(np.zeros(n), world.truth):
        head = Head(world.x[train], world.truth[train], k, seed, "hindsight")
        probs[held] = head.predict_proba(world.x[held])
    predicted = probs.argmax(axis=1)
    return Hindsight(probs.max(axis=1), predicted, predicted != world.truth)


def accepted_within(wrong_by_confidence: np.ndarray, max_errors: int) -> np.ndarray:
    """For e = 0..max_errors, the longest run of the most confident items (`wrong_by_confidence`:
    wrong flags, most confident first) holding at most e wrong ones."""
    mistakes = np.cumsum(wrong_by_confidence)
    return np.searchsorted(mistakes, np.arange(max_errors + 1), side="right")


def _by_confidence(hindsight: Hindsight, rows: np.ndarray) -> np.ndarray:
    order = rows[np.argsort(-hindsight.confidence[rows], kind="stable")]
    return np.asarray(hindsight.wrong[order])


def most_accepted_one_threshold(hindsight: Hindsight, max_errors: int) -> int:
    """Items one global threshold accepts at most, with at most `max_errors` wrong."""
    rows = np.arange(len(hindsight.wrong))
    return int(accepted_within(_by_confidence(hindsight, rows), max_errors)[max_errors])


def most_accepted_per_class(hindsight: Hindsight, max_errors: int) -> int:
    """Items one threshold per predicted class accepts at most, with at most `max_errors`
    wrong in all: best[e] over the classes so far, each class adding its own run at j of e."""
    best = np.zeros(max_errors + 1, dtype=np.int64)
    for label in np.unique(hindsight.predicted):
        rows = np.flatnonzero(hindsight.predicted == label)
        own = accepted_within(_by_confidence(hindsight, rows), max_errors)
        best = np.array(
            [max(best[e - j] + own[j] for j in range(e + 1)) for e in range(max_errors + 1)]
        )
    return int(best[max_errors])


@dataclass(frozen=True)
class Ceiling:
    """The ceilings at GT's accuracy: `max_errors` wrong labels allowed (as many as GT's final
    labels hold), the human labels each threshold rule needs and the share of GT's labels
    that saves."""

    max_errors: int
    per_class_labels: int
    one_threshold_labels: int
    gt_labels: int

    def saved(self, labels: int) -> float | None:
        return 1 - labels / self.gt_labels if self.gt_labels else None

    def as_dict(self) -> dict[str, object]:
        return {
            "max_errors": self.max_errors,
            "per_class_thresholds": {
                "human_labels": self.per_class_labels,
                "labels_saved_vs_gt": self.saved(self.per_class_labels),
            },
            "one_threshold": {
                "human_labels": self.one_threshold_labels,
                "labels_saved_vs_gt": self.saved(self.one_threshold_labels),
            },
        }


def ceiling_at(hindsight: Hindsight, gt: CoverageResult) -> Ceiling:
    """The ceilings at `gt`'s final accuracy (its wrong final labels are the allowance)."""
    items = len(hindsight.wrong)
    max_errors = max(0, items - gt.final_correct)
    return Ceiling(
        max_errors=max_errors,
        per_class_labels=items - most_accepted_per_class(hindsight, max_errors),
        one_threshold_labels=items - most_accepted_one_threshold(hindsight, max_errors),
        gt_labels=gt.human_labels,
    )
