"""Annotator quality and the over-reliance flag."""

from __future__ import annotations

from typing import Any

import pytest
from mitl_review.core.quality import Counts, Thresholds, assess, share

LIMITS = Thresholds(flag_confirmation_rate=0.9, flag_gold_accuracy=0.7, min_reviews=20, min_gold=5)


def counts(**overrides: Any) -> Counts:
    fields: dict[str, Any] = {
        "annotator": "ann",
        "dataset": "trec6",
        "role": "annotator",
        "done": 40,
        "reviews_shown": 30,
        "confirmations": 20,
        "gold_answered": 6,
        "gold_correct": 6,
        "spot_checks": 4,
        "spot_check_agreements": 3,
        "median_time_ms": 2500.0,
    }
    return Counts(**(fields | overrides))


def test_rates_and_time_per_item() -> None:
    q = assess(counts(), LIMITS)
    assert q.confirmation_rate == pytest.approx(20 / 30)
    assert q.gold_accuracy == 1.0 and q.spot_check_agreement == 0.75
    assert q.seconds_per_item == 2.5 and not q.flagged and q.flag_reason is None


def test_no_samples_is_no_rate_not_zero() -> None:
    q = assess(
        counts(
            reviews_shown=0,
            confirmations=0,
            gold_answered=0,
            gold_correct=0,
            spot_checks=0,
            spot_check_agreements=0,
            median_time_ms=None,
        ),
        LIMITS,
    )
    assert (q.confirmation_rate, q.gold_accuracy, q.spot_check_agreement) == (None, None, None)
    assert q.seconds_per_item is None and not q.flagged
    assert share(0, 0) is None and share(1, 4) == 0.25


def test_confirming_everything_while_failing_gold_is_flagged() -> None:
    q = assess(counts(confirmations=29, gold_correct=2), LIMITS)
    assert q.flagged and q.flag_reason is not None
    assert "confirms 97% of shown suggestions" in q.flag_reason
    assert "answers 33% of gold items right" in q.flag_reason


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"confirmations": 26, "gold_correct": 2}, "confirms below the threshold"),
        ({"confirmations": 29, "gold_correct": 5}, "gold accuracy at or above the threshold"),
        ({"confirmations": 19, "reviews_shown": 19, "gold_correct": 0}, "too few reviews"),
        ({"confirmations": 30, "gold_answered": 4, "gold_correct": 0}, "too few gold answers"),
    ],
)
def test_not_flagged(overrides: dict[str, Any], why: str) -> None:
    assert not assess(counts(**overrides), LIMITS).flagged, why


def test_thresholds_are_inclusive_for_confirmation_and_exclusive_for_gold() -> None:
    at_both = counts(reviews_shown=20, confirmations=18, gold_answered=10, gold_correct=7)
    assert not assess(at_both, LIMITS).flagged
    just_below_gold = counts(reviews_shown=20, confirmations=18, gold_answered=10, gold_correct=6)
    assert assess(just_below_gold, LIMITS).flagged
