"""The people of a full-coverage run: who labeled which item, and what the run counts of it.

The single-label loop (coverage.py) and the multi-label loop (multilabel.py) share it: a
person's answer becomes the item's final label and a training example, and the result counts
human and expert labels.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from mitl_ml.sim.results import CoverageResult


class Answers(Protocol):
    """An oracle: the annotator's and the expert's answer for an item."""

    def annotator(self, item: int) -> Any: ...

    def expert(self, item: int) -> Any: ...


class People:
    """Labels items from `oracle` into `final` (one row per item), counting on `result`."""

    def __init__(self, oracle: Answers, final: np.ndarray, result: CoverageResult) -> None:
        self.oracle = oracle
        self.final = final
        self.result = result
        self.trained: list[int] = []

    def label(self, item: int, expert: bool) -> Any:
        answer = self.oracle.expert(item) if expert else self.oracle.annotator(item)
        self.final[item] = answer
        self.trained.append(item)
        self.result.human_labels += 1
        self.result.expert_labels += int(expert)
        return answer

    def start(self, order: np.ndarray, initial: int) -> set[int]:
        """Label the first `initial` of `order` (the random start); the rest is pending."""
        for item in order[:initial]:
            self.label(int(item), expert=False)
        self.result.initial_labels = self.result.human_labels
        return {int(i) for i in order[initial:]}
