"""Entity-level scores of predicted span sets against gold ones. Pure: no I/O.

An entity counts as found only when a predicted span has exactly the gold span's offsets and
label (the CoNLL convention). Precision is over predicted entities, recall over gold ones. The
confident share is the share of predicted entities whose confidence is at least a threshold,
with their precision; ECE compares span confidences with whether the span is right, in
ECE_BINS equal-width bins.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mitl_contracts.spans import Span

from mitl_ml.calibrate import ECE_BINS

CONFIDENT = 0.9


def span_correctness(
    gold: Sequence[Sequence[Span]], predicted: Sequence[Sequence[Span]]
) -> tuple[np.ndarray, np.ndarray, int]:
    """(confidence, right) per predicted entity over all items, and the number of gold
    entities. A span without confidence counts as confidence 1."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold span sets but {len(predicted)} predicted")
    confidence: list[float] = []
    right: list[bool] = []
    n_gold = 0
    for gold_spans, spans in zip(gold, predicted, strict=True):
        keys = {(s.start, s.end, s.label) for s in gold_spans}
        n_gold += len(keys)
        for span in spans:
            confidence.append(1.0 if span.confidence is None else span.confidence)
            right.append((span.start, span.end, span.label) in keys)
    return np.array(confidence, dtype=np.float64), np.array(right, dtype=bool), n_gold


def binary_calibration_error(
    confidence: np.ndarray, right: np.ndarray, bins: int = ECE_BINS
) -> float:
    """ECE of confidences that each thing is right: mean over items of |share right - mean
    confidence| in its confidence bin; 0.0 for no items."""
    if len(confidence) == 0:
        return 0.0
    edges = np.minimum((np.asarray(confidence) * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(edges):
        mask = edges == b
        total += mask.sum() * abs(float(right[mask].mean()) - float(confidence[mask].mean()))
    return float(total / len(confidence))


def entity_metrics(
    gold: Sequence[Sequence[Span]],
    predicted: Sequence[Sequence[Span]],
    prefix: str = "",
    confident: float = CONFIDENT,
) -> dict[str, float]:
    """Entity-level precision, recall and F1, the confident share and its precision, and the
    ECE of span confidences (keys prefixed with `prefix`)."""
    confidence, right, n_gold = span_correctness(gold, predicted)
    found = int(right.sum())
    precision = found / len(right) if len(right) else 0.0
    recall = found / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    sure = confidence >= confident
    return {
        f"{prefix}entity_precision": precision,
        f"{prefix}entity_recall": recall,
        f"{prefix}entity_f1": f1,
        f"{prefix}gold_entities": float(n_gold),
        f"{prefix}predicted_entities": float(len(right)),
        f"{prefix}confident_share": float(sure.mean()) if len(right) else 0.0,
        f"{prefix}confident_precision": float(right[sure].mean()) if sure.any() else 0.0,
        f"{prefix}span_ece": binary_calibration_error(confidence, right),
    }
