"""The promotion rule: enough held-out items, and a gain of at least the margin."""

from __future__ import annotations

from mitl_trainer.core.candidate_vs_champion import decide


def test_too_small_a_holdout_never_promotes() -> None:
    verdict = decide(0.99, 0.5, 12, margin=0.0, min_holdout=50)
    assert not verdict.promote
    assert verdict.reason == "the held-out set has 12 items; promotion needs 50"


def test_without_a_champion_a_candidate_with_enough_holdout_is_promoted() -> None:
    assert decide(0.4, None, 50, margin=0.05, min_holdout=50).promote


def test_the_gain_must_reach_the_margin() -> None:
    assert decide(0.82, 0.80, 100, margin=0.01, min_holdout=50).promote
    assert not decide(0.805, 0.80, 100, margin=0.01, min_holdout=50).promote
    # Margin 0: a tie is enough; a negative margin accepts a slightly worse model.
    assert decide(0.80, 0.80, 100, margin=0.0, min_holdout=50).promote
    assert decide(0.7 + 0.1, 0.8, 100, margin=0.0, min_holdout=50).promote
    assert decide(0.78, 0.80, 100, margin=-0.05, min_holdout=50).promote
    reason = decide(0.78, 0.80, 100, margin=0.01, min_holdout=50).reason
    assert reason == (
        "holdout accuracy 0.7800 vs champion 0.8000 (-0.0200; margin +0.0100) on 100 items"
    )
