"""From windows to statistic values, each with the segment it is about and the details an alert
reports. Keys are (statistic, segment): segment "all" for the whole stream, "class:<label>" for
one predicted class."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mitl_drift.config import (
    AGREEMENT_DROP,
    CLASS_MIX_PSI,
    CLASS_SHARE_SHIFT,
    CONFIDENCE_PSI,
    EMBEDDING_SHIFT,
    OUTLIER_SHIFT,
)
from mitl_drift.statistics import (
    class_counts,
    confidence_counts,
    moments,
    psi_terms,
    rms,
    shares,
    standardized_shift,
)
from mitl_drift.windows import AgreementWindows, PredictionWindows

DIGITS = 6
SEGMENT_ALL = "all"
# The embedding statistic needs this many sketches on each side, or a handful of items with a
# sketch among many without would stand for the whole stream.
MIN_SKETCHES = 30

Key = tuple[str, str]


@dataclass(frozen=True)
class Measured:
    value: float
    details: dict[str, object]


def class_segment(label: str) -> str:
    return f"class:{label}"


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), DIGITS) for v in values]


def prediction_measures(windows: PredictionWindows, labels: Sequence[str]) -> dict[Key, Measured]:
    """confidence_psi, class_mix_psi, outlier_shift, embedding_shift (when both windows hold
    enough sketches) and class_share_shift per class, of the recent window against the
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
    reference_shares, recent_shares = shares(windows.reference_classes), shares(recent_classes)
    class_mix = Measured(
        float(class_terms.sum()),
        {
            "reference_shares": dict(zip(labels, _rounded(reference_shares), strict=True)),
            "recent_shares": dict(zip(labels, _rounded(recent_shares), strict=True)),
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
    measured: dict[Key, Measured] = {
        (CONFIDENCE_PSI, SEGMENT_ALL): confidence,
        (CLASS_MIX_PSI, SEGMENT_ALL): class_mix,
        (OUTLIER_SHIFT, SEGMENT_ALL): outlier,
    }
    if (embedding := embedding_measure(windows)) is not None:
        measured[(EMBEDDING_SHIFT, SEGMENT_ALL)] = embedding
    for index, label in enumerate(labels):
        before, now = float(reference_shares[index]), float(recent_shares[index])
        measured[(CLASS_SHARE_SHIFT, class_segment(label))] = Measured(
            abs(now - before),
            {
                "class": label,
                "reference_share": round(before, DIGITS),
                "recent_share": round(now, DIGITS),
                "direction": "up" if now >= before else "down",
            },
        )
    return measured


def embedding_measure(windows: PredictionWindows) -> Measured | None:
    """embedding_shift: the RMS over sketch dimensions of the recent mean's shift from the
    reference mean, in reference standard deviations; None without enough sketches."""
    sketches = [o.sketch for o in windows.recent if o.sketch is not None]
    if windows.reference_sketch_count < MIN_SKETCHES or len(sketches) < MIN_SKETCHES:
        return None
    mean, std = moments(
        windows.reference_sketch_count,
        windows.reference_sketch_sum,
        windows.reference_sketch_sumsq,
    )
    shift = standardized_shift(mean, std, np.array(sketches))
    worst = int(np.argmax(np.abs(shift)))
    return Measured(
        rms(shift),
        {
            "reference_sketches": windows.reference_sketch_count,
            "recent_sketches": len(sketches),
            "most_shifted_dimension": worst,
            "most_shifted_by": round(float(shift[worst]), DIGITS),
        },
    )


def agreement_measure(
    windows: AgreementWindows, statistic: str = AGREEMENT_DROP
) -> dict[Key, Measured]:
    """The reference agreement rate minus the recent one (negative when people agree with the
    model more than they used to), as `statistic`: agreement_drop for labels given with the
    suggestion shown, spot_check_drop for blind ones (a fall in estimated precision)."""
    if not windows.recent or windows.reference_labels == 0:
        raise ValueError("agreement needs reference and recent human labels")
    reference_rate = windows.reference_agreed / windows.reference_labels
    recent_rate = sum(windows.recent) / len(windows.recent)
    return {
        (statistic, SEGMENT_ALL): Measured(
            reference_rate - recent_rate,
            {
                "reference_agreement": round(reference_rate, DIGITS),
                "recent_agreement": round(recent_rate, DIGITS),
                "reference_labels": windows.reference_labels,
                "recent_labels": len(windows.recent),
            },
        )
    }
