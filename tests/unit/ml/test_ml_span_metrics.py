"""Entity-level precision, recall, F1, the confident share and span ECE."""

from __future__ import annotations

import pytest
from mitl_contracts.spans import Span
from mitl_ml.span_metrics import binary_calibration_error, entity_metrics


def span(start: int, end: int, label: str, confidence: float | None = None) -> Span:
    return Span(start=start, end=end, label=label, confidence=confidence)


def test_only_exact_offsets_and_label_count() -> None:
    gold = [[span(0, 4, "person"), span(10, 15, "loc")], [span(0, 3, "loc")]]
    predicted = [
        [span(0, 4, "person", 0.95), span(10, 14, "loc", 0.5)],  # right, wrong end
        [span(0, 3, "person", 0.92), span(5, 8, "loc", 0.2)],  # wrong label, spurious
    ]
    m = entity_metrics(gold, predicted)
    assert m["entity_precision"] == pytest.approx(1 / 4)
    assert m["entity_recall"] == pytest.approx(1 / 3)
    assert m["entity_f1"] == pytest.approx(2 * (1 / 4) * (1 / 3) / (1 / 4 + 1 / 3))
    assert m["confident_share"] == pytest.approx(2 / 4)
    assert m["confident_precision"] == pytest.approx(1 / 2)
    assert (m["gold_entities"], m["predicted_entities"]) == (3, 4)


def test_nothing_predicted_scores_zero_not_a_division_error() -> None:
    m = entity_metrics([[span(0, 1, "x")]], [[]], prefix="holdout_")
    assert m["holdout_entity_precision"] == m["holdout_entity_f1"] == 0.0
    assert m["holdout_span_ece"] == 0.0


def test_calibration_error_is_zero_when_confidence_matches_accuracy() -> None:
    import numpy as np

    confidence = np.array([0.75] * 4 + [0.25] * 4)
    right = np.array([True, True, True, False, True, False, False, False])
    assert binary_calibration_error(confidence, right) == pytest.approx(0.0)
    assert binary_calibration_error(np.array([1.0, 1.0]), np.array([True, False])) == 0.5


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="span sets"):
        entity_metrics([[]], [[], []])
