"""Per-label report figures of multi-label human labels."""

from __future__ import annotations

import pytest
from mitl_audit.core.label_sets import LabelSetCount, per_label


def test_figures_per_label_from_counts() -> None:
    figures = per_label(
        [
            LabelSetCount(label="b", verified=10, model_in=4, person_in=5, added=2, removed=1),
            LabelSetCount(label="a", verified=10, model_in=0, person_in=1, added=1, removed=0),
        ]
    )
    assert figures is not None and list(figures) == ["a", "b"]
    assert figures["b"].decision_accuracy == pytest.approx(0.7)
    assert figures["b"].precision_in == pytest.approx(0.75)
    assert figures["a"].precision_in is None


def test_no_multilabel_labels_means_no_figures() -> None:
    assert per_label([]) is None
