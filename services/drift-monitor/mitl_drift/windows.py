"""The windows one (dataset, model_version) is judged by: a fixed reference and a sliding
recent window, for predictions and for human agreement with the model's suggestions.

The reference is the first N events ever counted and never changes once full, so it is kept as
counts; the recent window keeps its events, oldest first. Both count events in arrival order,
so the result does not depend on how the stream was cut into batches.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from mitl_drift.config import DriftConfig
from mitl_drift.statistics import CONFIDENCE_BINS, confidence_bins


@dataclass(frozen=True)
class Observation:
    """What drift is measured on from one prediction."""

    confidence: float
    class_index: int
    outlier: float


@dataclass
class PredictionWindows:
    n_classes: int
    reference_confidence: list[int] = field(default_factory=lambda: [0] * CONFIDENCE_BINS)
    reference_classes: list[int] = field(default_factory=list)
    reference_confidence_sum: float = 0.0
    reference_outlier_sum: float = 0.0
    recent: deque[Observation] = field(default_factory=deque)
    since_evaluation: int = 0

    def __post_init__(self) -> None:
        if not self.reference_classes:
            self.reference_classes = [0] * self.n_classes
        if len(self.reference_classes) != self.n_classes:
            raise ValueError(
                f"{len(self.reference_classes)} reference class counts for {self.n_classes} classes"
            )
        if len(self.reference_confidence) != CONFIDENCE_BINS:
            raise ValueError(
                f"{len(self.reference_confidence)} confidence bins, not {CONFIDENCE_BINS}"
            )

    @property
    def reference_count(self) -> int:
        return sum(self.reference_classes)

    def add(self, observation: Observation, config: DriftConfig) -> bool:
        """Count one observation; return True when the statistics are due for evaluation:
        the recent window is full and `evaluate_every` observations arrived since the last."""
        if not 0 <= observation.class_index < self.n_classes:
            raise ValueError(f"class index {observation.class_index} of {self.n_classes} classes")
        if self.reference_count < config.reference_size:
            bin_ = int(confidence_bins([observation.confidence])[0])
            self.reference_confidence[bin_] += 1
            self.reference_classes[observation.class_index] += 1
            self.reference_confidence_sum += observation.confidence
            self.reference_outlier_sum += observation.outlier
            return False
        self.recent.append(observation)
        while len(self.recent) > config.window_size:
            self.recent.popleft()
        self.since_evaluation += 1
        due = (
            len(self.recent) >= config.window_size
            and self.since_evaluation >= config.evaluate_every
        )
        if due:
            self.since_evaluation = 0
        return due


@dataclass
class AgreementWindows:
    """Human labels given with a model suggestion: did the person keep the suggestion?"""

    reference_labels: int = 0
    reference_agreed: int = 0
    recent: deque[bool] = field(default_factory=deque)
    since_evaluation: int = 0

    def add(self, agreed: bool, config: DriftConfig) -> bool:
        """Count one human label; return True when agreement is due for evaluation."""
        if self.reference_labels < config.agreement_reference_size:
            self.reference_labels += 1
            self.reference_agreed += agreed
            return False
        self.recent.append(agreed)
        while len(self.recent) > config.agreement_window:
            self.recent.popleft()
        self.since_evaluation += 1
        due = (
            len(self.recent) >= config.agreement_window
            and self.since_evaluation >= config.agreement_evaluate_every
        )
        if due:
            self.since_evaluation = 0
        return due
