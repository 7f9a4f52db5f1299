"""Whether a candidate replaces the champion. Pure: no I/O.

Both are scored on the same held-out human-verified items. The candidate is promoted when the
held-out set is large enough to tell and its accuracy (a span model's entity-level F1) is at
least `margin` above the champion's (a negative margin accepts a slightly worse model, e.g.
to follow a drifted stream); with no champion at all, a candidate with enough held-out items
is promoted.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    promote: bool
    reason: str


def decide(
    candidate_accuracy: float,
    champion_accuracy: float | None,
    holdout: int,
    *,
    margin: float,
    min_holdout: int,
    metric: str = "accuracy",
) -> Verdict:
    """Promote or not, comparing the held-out `metric` (accuracy, or a span model's entity
    F1) of candidate and champion."""
    if holdout < min_holdout:
        return Verdict(
            False, f"the held-out set has {holdout} items; promotion needs {min_holdout}"
        )
    if champion_accuracy is None:
        return Verdict(True, "no champion to compare with")
    gain = candidate_accuracy - champion_accuracy
    comparison = (
        f"holdout {metric} {candidate_accuracy:.4f} vs champion {champion_accuracy:.4f} "
        f"({gain:+.4f}; margin {margin:+.4f}) on {holdout} items"
    )
    # A hair of float noise must not decide a tie at margin 0.
    if gain >= margin - 1e-12:
        return Verdict(True, comparison)
    return Verdict(False, comparison)
