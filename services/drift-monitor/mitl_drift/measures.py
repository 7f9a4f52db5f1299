"""From windows to statistic values, each with the details an alert reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mitl_drift.config import AGREEMENT_DROP, CLASS_MIX_PSI, CONFIDENCE_PSI, OUTLIER_SHIFT
from mitl_drift.statistics import class_counts, confidence_counts, psi_terms, shares
from mitl_drift.windows import AgreementWindows, PredictionWindows

DIGITS = 6


@dataclass(frozen=True)
class Measured:
    value: float
    details: dict[str, object]


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), DIGITS) for v in values]


def prediction_measures(windows: PredictionWindows, labels: Sequence[str]) -> dict[str, Measured]:
    """confidence_psi, class_mix_psi and outlier_shift of the recent window against the
    reference. Needs a non-empty reference and recent window."""
    if not windows.recent or windows.reference_count == 0:
        raise ValueError("drift needs a reference and a recent window")
    reference_n = windows.reference_count
    confidences = np.array([o.confidence for o in windows.recent])
    classes = np.array([o.class_index for o in windows.recent], dtype=np.int64)
    outliers = np.array([o.outlier for o in windows.recent])

    confidence_terms = psi_terms(windows.reference_confidence, confidence_counts(confidences))
    confidence = Measured(
        float(confidence_terms.sum()),
        {
            "reference_mean_confidence": round(
                windows.reference_confidence_sum / reference_n, DIGITS
            ),
            "recent_mean_confidence": round(float(confidences.mean()), DIGITS),
            "reference_bin_shares": _rounded(shares(windows.reference_confidence)),
            "recent_bin_shares": _rounded(shares(confidence_counts(confidences))),
        },
    )

    recent_classes = class_counts(classes, windows.n_classes)
    class_terms = psi_terms(windows.reference_classes, recent_classes)
    moved = int(np.argmax(class_terms))
    reference_shares = _rounded(shares(windows.reference_classes))
    class_mix = Measured(
        float(class_terms.sum()),
        {
            "reference_shares": dict(zip(labels, reference_shares, strict=True)),
            "recent_shares": dict(zip(labels, _rounded(shares(recent_classes)), strict=True)),
            "most_shifted_class": labels[moved],
        },
    )

    reference_outlier = windows.reference_outlier_sum / reference_n
    recent_outlier = float(outliers.mean())
    outlier = Measured(
        abs(recent_outlier - reference_outlier),
        {
            "reference_mean_outlier": round(reference_outlier, DIGITS),
            "recent_mean_outlier": round(recent_outlier, DIGITS),
            "direction": "up" if recent_outlier >= reference_outlier else "down",
        },
    )
    return {CONFIDENCE_PSI: confidence, CLASS_MIX_PSI: class_mix, OUTLIER_SHIFT: outlier}


def agreement_measure(windows: AgreementWindows) -> dict[str, Measured]:
    """agreement_drop: the reference agreement rate minus the recent one (negative when people
    agree with the model more than they used to)."""
    if not windows.recent or windows.reference_labels == 0:
        raise ValueError("agreement needs reference and recent human labels")
    reference_rate = windows.reference_agreed / windows.reference_labels
    recent_rate = sum(windows.recent) / len(windows.recent)
    return {
        AGREEMENT_DROP: Measured(
            reference_rate - recent_rate,
            {
                "reference_agreement": round(reference_rate, DIGITS),
                "recent_agreement": round(recent_rate, DIGITS),
                "reference_labels": windows.reference_labels,
                "recent_labels": len(windows.recent),
            },
        )
    }
