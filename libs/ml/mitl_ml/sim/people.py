"""The people of a full-coverage run: who labeled which item, and what the run counts of it;
and how a run is closed once every item is settled.

The single-label loop (coverage.py), the multi-label loop (multilabel.py) and the span loop
(spans.py) share it: a person's answer becomes the item's final label and a training example,
an accepted item takes the model's label unless it is spot-checked, and the result counts
human, expert and spot-check labels.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from mitl_contracts.events import Decision
from mitl_policy.calibration import Thresholds
from mitl_policy.ppi import precision_intervals

from mitl_ml.sim.results import CoverageResult


class Answers(Protocol):
    """An oracle: the annotator's and the expert's answer for an item."""

    def annotator(self, item: int) -> Any: ...

    def expert(self, item: int) -> Any: ...


class Verifier(Protocol):
    """A simulated router: tells calibration reviews apart and joins people's labels."""

    def is_calibration(self, item: int) -> bool: ...

    def verify(self, item: int, label: Any, source: str, spot_check: bool) -> None: ...


class People:
    """Labels items from `oracle` into `final` (one row per item), counting on `result`;
    `progress(settled, total)` hears of each round and of the end."""

    def __init__(
        self,
        oracle: Answers,
        final: np.ndarray,
        result: CoverageResult,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.oracle = oracle
        self.final = final
        self.result = result
        self.progress = progress
        self.trained: list[int] = []
        # Accepted items' confidences, and (confidence, person agreed) for spot-checked ones:
        # what the accepted-precision intervals are computed from (`finish`).
        self.accepted_confidences: list[float] = []
        self.checked: list[tuple[float, bool]] = []

    def label(self, item: int, expert: bool) -> Any:
        answer = self.oracle.expert(item) if expert else self.oracle.annotator(item)
        self.final[item] = answer
        self.trained.append(item)
        self.result.human_labels += 1
        self.result.expert_labels += int(expert)
        return answer

    def batch(self, every: int, growth: float) -> int:
        """How many queued items people label this round before the head is retrained:
        `every`, or `growth` times the human labels so far where that is more. A trainer
        retrains when its training set has grown by a share, not after a fixed count forever:
        at 12,000 labels another 50 barely move the head, and each retrain is a whole fit."""
        return max(every, math.ceil(growth * self.result.human_labels))

    def start(self, order: np.ndarray, initial: int) -> set[int]:
        """Label the first `initial` of `order` (the random start); the rest is pending."""
        for item in order[:initial]:
            self.label(int(item), expert=False)
        self.result.initial_labels = self.result.human_labels
        return {int(i) for i in order[initial:]}

    def next_round(self, pending: set[int]) -> None:
        """Begin a round with `pending` items unsettled: report the progress, count the round."""
        if self.progress is not None:
            self.progress(len(self.final) - len(pending), len(self.final))
        self.result.rounds += 1

    def accept(
        self,
        router: Verifier,
        item: int,
        decision: Decision,
        predicted: Any,
        agrees: Callable[[Any, Any], bool] = operator.eq,
    ) -> None:
        """The router accepted the model's `predicted` label for `item`: it is the final label,
        unless the decision is spot-checked: then a person labels the item blind, the router
        learns the outcome, and whether the person `agrees` with the model is counted."""
        self.result.auto_accepted += 1
        self.accepted_confidences.append(decision.confidence)
        if decision.spot_check:
            self.result.spot_checks += 1
            answer = self.label(item, expert=False)
            router.verify(item, answer, "annotator", spot_check=True)
            self.checked.append((decision.confidence, agrees(answer, predicted)))
        else:
            self.final[item] = predicted
            self.result.model_labeled += 1

    def review_queue(
        self, router: Verifier, queue: list[tuple[float, int, Decision]], count: int
    ) -> list[int]:
        """People label the `count` queued (priority, item, decision) entries of highest
        priority (ties: the lower item first); returns the items labeled."""
        queue.sort(key=lambda entry: (-entry[0], entry[1]))
        labeled = []
        for _, item, decision in queue[:count]:
            self.review(router, item, expert=decision.route == "escalate")
            labeled.append(item)
        return labeled

    def certify(self, thresholds: Thresholds | None) -> None:
        """Note how many human labels it took until the router first had warm thresholds."""
        if self.result.certified_at is None and thresholds is not None and thresholds.warm:
            self.result.certified_at = self.result.human_labels

    def finish(self, truth: np.ndarray, thresholds: Thresholds | None) -> CoverageResult:
        """Close the run once every item is settled: final accuracy (element-wise, so per
        label decision for a multi-label run), the accepted-precision intervals and the
        learned thresholds."""
        if self.progress is not None:
            self.progress(len(self.final), len(self.final))
        result = self.result
        result.final_correct = int((self.final == truth).sum())
        intervals = precision_intervals(self.accepted_confidences, self.checked)
        result.precision_intervals = intervals.as_dict() if intervals is not None else None
        if thresholds is not None:
            for label, learned in thresholds.classes.items():
                value = learned.threshold if learned.threshold is not None else float("nan")
                result.details[f"threshold.{label}"] = round(value, 4)
        return result

    def review(self, router: Verifier, item: int, expert: bool) -> None:
        """A person (an expert for an escalation) labels a queued item; the router learns
        the outcome; a calibration review is counted as such."""
        self.result.calibration_labels += int(router.is_calibration(item))
        answer = self.label(item, expert=expert)
        router.verify(item, answer, "expert" if expert else "annotator", False)
