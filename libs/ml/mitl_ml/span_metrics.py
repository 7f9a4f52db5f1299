"""Entity-level scores of predicted span sets against gold ones. Pure: no I/O.

An entity counts as found only when a predicted span has exactly the gold span's offsets and
label (the CoNLL convention). Precision is over predicted entities, recall over gold ones. The
confident share is the share of predicted entities whose confidence is at least a threshold,
with their precision; ECE compares span confidences with whether the span is right, in
ECE_BINS equal-width bins. SpanScores keeps the raw counts (a simulator or a bootstrap report
adds them up over items).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from mitl_contracts.spans import Span

from mitl_ml.calibrate import ECE_BINS

CONFIDENT = 0.9


@dataclass(frozen=True)
class SpanScores:
    """Counts over a corpus: spans right, spans predicted, gold spans."""

    correct: int
    predicted: int
    gold: int

    @property
    def precision(self) -> float:
        """Share of predicted spans that are right (1.0 when nothing was predicted)."""
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        """Share of gold spans found (1.0 when there is none)."""
        return self.correct / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def matched(gold: Sequence[Span], predicted: Sequence[Span]) -> int:
    """How many of `predicted` have a gold span with the same offsets and label."""
    keys = {(s.start, s.end, s.label) for s in gold}
    return sum((s.start, s.end, s.label) in keys for s in predicted)


def span_scores(gold: Sequence[Sequence[Span]], predicted: Sequence[Sequence[Span]]) -> SpanScores:
    """Entity-level counts over items (`gold[i]` and `predicted[i]` are item i's span sets)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold span sets but {len(predicted)} predicted")
    return SpanScores(
        correct=sum(matched(g, p) for g, p in zip(gold, predicted, strict=True)),
        predicted=sum(len(p) for p in predicted),
        gold=sum(len(g) for g in gold),
    )


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
