"""PSI and binning against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from mitl_drift.statistics import (
    CONFIDENCE_BINS,
    EPSILON,
    class_counts,
    confidence_bins,
    confidence_counts,
    psi,
    psi_terms,
)


def test_psi_of_two_bins_matches_hand_computation() -> None:
    # (0.8 - 0.5) ln(0.8 / 0.5) + (0.2 - 0.5) ln(0.2 / 0.5) = 0.141001 + 0.274887
    assert psi([50, 50], [80, 20]) == pytest.approx(0.415888, abs=1e-6)


def test_psi_of_three_bins_matches_hand_computation() -> None:
    # shares (0.2, 0.3, 0.5) -> (0.1, 0.4, 0.5):
    # -0.1 ln(0.5) + 0.1 ln(4/3) + 0 = 0.069315 + 0.028768
    assert psi([20, 30, 50], [10, 40, 50]) == pytest.approx(0.098083, abs=1e-6)


def test_psi_depends_on_shares_not_totals() -> None:
    assert psi([1, 2, 3], [10, 20, 30]) == pytest.approx(0.0, abs=1e-12)
    assert psi([50, 50], [80, 20]) == pytest.approx(psi([5, 5], [800, 200]))


def test_empty_bins_are_floored_at_epsilon() -> None:
    # Bin 2 is empty in the reference: (0.5 - eps) ln(0.5 / eps) + 2 * (0.25 - 0.5) ln(0.5)
    expected = (0.5 - EPSILON) * math.log(0.5 / EPSILON) + 2 * (-0.25) * math.log(0.5)
    assert psi([1, 1, 0], [1, 1, 2]) == pytest.approx(expected, abs=1e-9)
    # A bin empty in both windows contributes nothing.
    assert psi_terms([5, 0, 5], [5, 0, 5]).tolist() == [0.0, 0.0, 0.0]


def test_psi_is_never_negative_and_grows_with_the_shift() -> None:
    rng = np.random.default_rng(7)
    reference = rng.integers(1, 100, size=10)
    bump = np.eye(10, dtype=int)[0]
    values = [psi(reference, reference + shift * bump) for shift in (0, 50, 500)]
    assert values[0] == pytest.approx(0.0, abs=1e-12)
    assert 0 < values[1] < values[2]


def test_psi_needs_the_same_bins() -> None:
    with pytest.raises(ValueError, match="bins differ"):
        psi([1, 2], [1, 2, 3])


def test_confidence_bins_are_equal_width_on_zero_to_one() -> None:
    assert confidence_bins([0.0, 0.05, 0.1, 0.55, 0.999, 1.0]).tolist() == [0, 0, 1, 5, 9, 9]
    assert confidence_bins([-0.5, 1.5]).tolist() == [0, CONFIDENCE_BINS - 1]
    assert confidence_counts([0.95, 0.91, 0.15]).tolist() == [0, 1, 0, 0, 0, 0, 0, 0, 0, 2]


def test_class_counts_cover_every_class() -> None:
    assert class_counts([0, 2, 2], 4).tolist() == [1, 0, 2, 0]
    assert class_counts([], 3).tolist() == [0, 0, 0]
