"""Distribution-shift statistics over binned counts: pure numpy, no state.

PSI (population stability index) = sum_i (a_i - e_i) * ln(a_i / e_i) over bin shares, e the
reference and a the recent window. Empty bins would make it infinite, so shares are floored at
`EPSILON` first; a bin empty in both windows then contributes exactly zero. Rules of thumb:
below 0.1 stable, 0.1-0.2 moderate, above 0.2 a real shift.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CONFIDENCE_BINS = 10
EPSILON = 1e-4


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
