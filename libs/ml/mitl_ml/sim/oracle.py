"""The simulated people: answer from ground truth, optionally wrong at a given rate."""

from __future__ import annotations

import numpy as np


class Oracle:
    """Answers label indices for items; an item always gets the same answer (a person who is
    wrong about an item stays wrong), so reruns with the same seed are identical.

    `error_rate` is the share of items the annotator labels wrongly (a different label drawn
    uniformly); experts answer from the truth.
    """

    def __init__(self, truth: np.ndarray, n_labels: int, error_rate: float, seed: int) -> None:
        if not 0.0 <= error_rate < 1.0:
            raise ValueError(f"error_rate must be in [0, 1), got {error_rate}")
        rng = np.random.default_rng([seed, 7919])
        wrong = (truth + rng.integers(1, n_labels, len(truth))) % n_labels
        self.truth = truth
        self.annotator_answers = np.where(rng.random(len(truth)) < error_rate, wrong, truth)

    def annotator(self, item: int) -> int:
        return int(self.annotator_answers[item])

    def expert(self, item: int) -> int:
        return int(self.truth[item])
