"""The Wilson score interval against values computed by hand and its known properties."""

from __future__ import annotations

import math

import pytest
from mitl_audit.core.precision import Z_95, precision, wilson


def test_wilson_matches_the_textbook_formula() -> None:
    # 8 of 10: p = 0.8, z = 1.96 -> (0.4902, 0.9433) (Wilson 1927; Newcombe 1998, method 3).
    low, high = wilson(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    # 81 of 263: Newcombe's worked example, (0.2553, 0.3662).
    low, high = wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


def test_wilson_at_the_edges_stays_within_zero_and_one() -> None:
    low, high = wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(Z_95**2 / (10 + Z_95**2))
    low, high = wilson(10, 10)
    assert high == 1.0 and low == pytest.approx(10 / (10 + Z_95**2))
    for agreed in range(11):
        low, high = wilson(agreed, 10)
        assert 0.0 <= low <= agreed / 10 <= high <= 1.0
    assert wilson(0, 0) is None


def test_the_interval_narrows_with_more_checks_and_holds_the_share() -> None:
    widths = []
    for n in (10, 100, 1000, 10_000):
        low, high = wilson(9 * n // 10, n)
        assert low < 0.9 < high
        widths.append(high - low)
    assert widths == sorted(widths, reverse=True)
    # For large n it approaches the normal interval's half-width z * sqrt(p q / n).
    assert widths[-1] / 2 == pytest.approx(Z_95 * math.sqrt(0.09 / 10_000), rel=0.01)


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="3 successes out of 2"):
        wilson(3, 2)
    with pytest.raises(ValueError):
        wilson(-1, 2)


def test_precision_of_no_checks_has_no_numbers() -> None:
    empty = precision(0, 0)
    assert (empty.spot_checks, empty.precision, empty.ci_low, empty.ci_high) == (
        0,
        None,
        None,
        None,
    )
    some = precision(3, 4)
    assert some.precision == 0.75 and (some.ci_low, some.ci_high) == wilson(3, 4)


def test_the_prediction_powered_interval_sits_beside_wilsons() -> None:
    from mitl_audit.core.precision import precision, with_ppi
    from mitl_policy.ppi import Moments, ppi_interval

    confidences = [0.97, 0.99, 0.95, 0.98] * 250
    checked = [(0.97, True), (0.99, True), (0.95, False), (0.98, True)] * 10
    residuals = [float(y) - f for f, y in checked]
    base = precision(sum(y for _, y in checked), len(checked))
    both = with_ppi(
        base,
        Moments(len(confidences), sum(confidences), sum(c * c for c in confidences)),
        Moments(len(residuals), sum(residuals), sum(r * r for r in residuals)),
    )
    direct = ppi_interval(confidences, checked, 0.95)
    assert both.ppi_low == pytest.approx(direct.low) and both.ppi_high == pytest.approx(direct.high)
    assert both.ci_low == base.ci_low and both.ppi_narrower_by is not None
    assert both.ppi_narrower_by == pytest.approx(
        1 - (direct.high - direct.low) / (base.ci_high - base.ci_low)
    )
    assert with_ppi(base, Moments(0, 0.0, 0.0), Moments(0, 0.0, 0.0)) == base
