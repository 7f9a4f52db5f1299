"""How much a person relies on the model, from what they did in a recent window.

- confirmation rate: of the review tasks where the suggestion was shown, the share they
  answered with the suggested label;
- gold accuracy: of the gold items they answered (always blind), the share they got right;
- spot-check agreement: of the blind review tasks (the router's spot checks), the share where
  they chose the label the model had suggested, unseen;
- time per item: the median time they spent on a task.

Someone who confirms nearly everything but gets gold items wrong is not checking the model's
work: they are flagged. Both numbers need enough answers first, or one unlucky item would
flag a careful person.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    flag_confirmation_rate: float
    flag_gold_accuracy: float
    min_reviews: int
    min_gold: int


@dataclass(frozen=True)
class Counts:
    """What one person did in one dataset within the window."""

    annotator: str
    dataset: str
    role: str
    done: int
    reviews_shown: int
    confirmations: int
    gold_answered: int
    gold_correct: int
    spot_checks: int
    spot_check_agreements: int
    median_time_ms: float | None


@dataclass(frozen=True)
class Quality:
    counts: Counts
    confirmation_rate: float | None
    gold_accuracy: float | None
    spot_check_agreement: float | None
    seconds_per_item: float | None
    flagged: bool
    flag_reason: str | None


def share(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide: no answers is not 0%."""
    return part / whole if whole > 0 else None


def assess(counts: Counts, thresholds: Thresholds) -> Quality:
    confirmation_rate = share(counts.confirmations, counts.reviews_shown)
    gold_accuracy = share(counts.gold_correct, counts.gold_answered)
    enough = (
        counts.reviews_shown >= thresholds.min_reviews
        and counts.gold_answered >= thresholds.min_gold
    )
    flagged = (
        enough
        and confirmation_rate is not None
        and gold_accuracy is not None
        and confirmation_rate >= thresholds.flag_confirmation_rate
        and gold_accuracy < thresholds.flag_gold_accuracy
    )
    reason = None
    if flagged:
        reason = (
            f"confirms {confirmation_rate:.0%} of shown suggestions "
            f"(flag at {thresholds.flag_confirmation_rate:.0%} or more) but answers "
            f"{gold_accuracy:.0%} of gold items right (flag below "
            f"{thresholds.flag_gold_accuracy:.0%})"
        )
    median_ms = counts.median_time_ms
    return Quality(
        counts=counts,
        confirmation_rate=confirmation_rate,
        gold_accuracy=gold_accuracy,
        spot_check_agreement=share(counts.spot_check_agreements, counts.spot_checks),
        seconds_per_item=median_ms / 1000.0 if median_ms is not None else None,
        flagged=flagged,
        flag_reason=reason,
    )
