"""Distribution-shift statistics over binned counts: pure numpy, no state.

PSI (population stability index) = sum_i (a_i - e_i) * ln(a_i / e_i) over bin shares, e the
reference and a the recent window. Empty bins would make it infinite, so shares are floored at
`EPSILON` first; a bin empty in both windows then contributes exactly zero. Rules of thumb:
below 0.1 stable, 0.1-0.2 moderate, above 0.2 a real shift.

Embedding sketches are compared by the shift of their mean, per dimension in units of the
reference's standard deviation (`standardized_shift`), summarised as its root mean square.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CONFIDENCE_BINS = 10
EPSILON = 1e-4
STD_FLOOR = 1e-6


def confidence_bins(confidences: Sequence[float] | np.ndarray) -> np.ndarray:
    """The bin of each top-class confidence: CONFIDENCE_BINS equal-width bins on [0, 1], bin i
    holding [i/10, (i+1)/10) and the last one also 1.0; values outside [0, 1] are clipped."""
    values = np.clip(np.asarray(confidences, dtype=np.float64), 0.0, 1.0)
    return np.minimum((values * CONFIDENCE_BINS).astype(np.int64), CONFIDENCE_BINS - 1)


def confidence_counts(confidences: Sequence[float] | np.ndarray) -> np.ndarray:
    """How many confidences fall in each bin of `confidence_bins`."""
    return np.bincount(confidence_bins(confidences), minlength=CONFIDENCE_BINS)


def class_counts(class_indices: Sequence[int] | np.ndarray, n_classes: int) -> np.ndarray:
    """How many times each class index 0..n_classes-1 was the predicted class."""
    return np.bincount(np.asarray(class_indices, dtype=np.int64), minlength=n_classes)[:n_classes]


def shares(counts: Sequence[int] | np.ndarray) -> np.ndarray:
    """Counts as proportions (all zeros for no counts)."""
    array = np.asarray(counts, dtype=np.float64)
    total = array.sum()
    return array / total if total > 0 else np.zeros_like(array)


def psi_terms(
    reference: Sequence[int] | np.ndarray, recent: Sequence[int] | np.ndarray
) -> np.ndarray:
    """Each bin's contribution to `psi`, to say which bins moved."""
    expected = np.maximum(shares(reference), EPSILON)
    actual = np.maximum(shares(recent), EPSILON)
    if expected.shape != actual.shape:
        raise ValueError(f"bins differ: {expected.shape} reference vs {actual.shape} recent")
    return (actual - expected) * np.log(actual / expected)


def psi(reference: Sequence[int] | np.ndarray, recent: Sequence[int] | np.ndarray) -> float:
    """PSI of the recent counts against the reference counts, over the same bins."""
    return float(psi_terms(reference, recent).sum())


def moments(
    count: int, total: Sequence[float], total_sq: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and (sample) standard deviation from a count, sums and sums of
    squares; the deviation is floored at STD_FLOOR so that a constant dimension cannot divide
    by zero."""
    if count < 2:
        raise ValueError(f"moments need at least 2 values, got {count}")
    sums, squares = np.asarray(total, dtype=np.float64), np.asarray(total_sq, dtype=np.float64)
    mean = sums / count
    variance = np.maximum(squares / count - mean * mean, 0.0) * count / (count - 1)
    return mean, np.maximum(np.sqrt(variance), STD_FLOOR)


def standardized_shift(
    reference_mean: np.ndarray, reference_std: np.ndarray, recent: np.ndarray
) -> np.ndarray:
    """How far the recent rows' mean moved from the reference mean, per dimension, in units of
    the reference standard deviation (signed)."""
    recent = np.asarray(recent, dtype=np.float64)
    if recent.ndim != 2 or recent.shape[1] != len(reference_mean) or len(recent) == 0:
        raise ValueError(
            f"recent rows of shape {recent.shape} for {len(reference_mean)} dimensions"
        )
    return (recent.mean(axis=0) - reference_mean) / reference_std


def rms(values: np.ndarray) -> float:
    """Root mean square: the embedding statistic's one number for all dimensions. Stationary,
    each standardized shift is ~N(0, 1/n_recent + 1/n_reference); a moved input distribution
    moves several dimensions by a good part of a deviation."""
    return float(np.sqrt(np.mean(np.square(values))))
