"""The windows one (dataset, model_version) is judged by: a fixed reference and a sliding
recent window, for predictions and for human agreement with the model's suggestions.

The reference is the first N events ever counted and never changes once full, so it is kept as
counts and sums; the recent window keeps its events, oldest first. Both count events in arrival
order, so the result does not depend on how the stream was cut into batches.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from mitl_drift.config import AgreementSizes, DriftConfig
from mitl_drift.statistics import CONFIDENCE_BINS, confidence_bins


@dataclass(frozen=True)
class Observation:
    """What drift is measured on from one prediction; `sketch` is the item's embedding sketch
    (None when the prediction came without one)."""

    confidence: float
    class_index: int
    outlier: float
    sketch: tuple[float, ...] | None = None


@dataclass
class PredictionWindows:
    n_classes: int
    reference_confidence: list[int] = field(default_factory=lambda: [0] * CONFIDENCE_BINS)
    reference_classes: list[int] = field(default_factory=list)
    reference_confidence_sum: float = 0.0
    reference_outlier_sum: float = 0.0
    # Sketch width, fixed by the first sketch counted; per-dimension sums over the reference
    # observations that had a sketch (mean and standard deviation follow from them).
    sketch_dim: int | None = None
    reference_sketch_count: int = 0
    reference_sketch_sum: list[float] = field(default_factory=list)
    reference_sketch_sumsq: list[float] = field(default_factory=list)
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

    def check_sketch(self, sketch: tuple[float, ...] | None) -> None:
        """ValueError if `sketch` does not have the width of the sketches counted so far."""
        if sketch is not None and self.sketch_dim is not None and len(sketch) != self.sketch_dim:
            raise ValueError(
                f"embedding_sketch has {len(sketch)} values; this monitor's have {self.sketch_dim}"
            )

    def add(self, observation: Observation, config: DriftConfig) -> bool:
        """Count one observation; return True when the statistics are due for evaluation:
        the recent window is full and `evaluate_every` observations arrived since the last."""
        if not 0 <= observation.class_index < self.n_classes:
            raise ValueError(f"class index {observation.class_index} of {self.n_classes} classes")
        self.check_sketch(observation.sketch)
        if observation.sketch is not None and self.sketch_dim is None:
            self.sketch_dim = len(observation.sketch)
            self.reference_sketch_sum = [0.0] * self.sketch_dim
            self.reference_sketch_sumsq = [0.0] * self.sketch_dim
        if self.reference_count < config.reference_size:
            bin_ = int(confidence_bins([observation.confidence])[0])
            self.reference_confidence[bin_] += 1
            self.reference_classes[observation.class_index] += 1
            self.reference_confidence_sum += observation.confidence
            self.reference_outlier_sum += observation.outlier
            if observation.sketch is not None:
                self.reference_sketch_count += 1
                for d, value in enumerate(observation.sketch):
                    self.reference_sketch_sum[d] += value
                    self.reference_sketch_sumsq[d] += value * value
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
    """Human labels of items the model labeled: did the person choose the model's label?"""

    reference_labels: int = 0
    reference_agreed: int = 0
    recent: deque[bool] = field(default_factory=deque)
    since_evaluation: int = 0

    def add(self, agreed: bool, sizes: AgreementSizes) -> bool:
        """Count one human label; return True when agreement is due for evaluation."""
        if self.reference_labels < sizes.reference:
            self.reference_labels += 1
            self.reference_agreed += agreed
            return False
        self.recent.append(agreed)
        while len(self.recent) > sizes.window:
            self.recent.popleft()
        self.since_evaluation += 1
        due = len(self.recent) >= sizes.window and self.since_evaluation >= sizes.evaluate_every
        if due:
            self.since_evaluation = 0
        return due
