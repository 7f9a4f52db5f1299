"""Scope "dataset" with `shared_threshold`: a class under min_verified accepts at the pooled
threshold (bounded over every class's calibration verdicts) and keeps sampling like an
uncertified class, until its own threshold replaces it."""

from __future__ import annotations

import pytest
from mitl_contracts.datasets import Policy
from mitl_policy.calibration import ClassThreshold, Verdict, learn_thresholds
from mitl_policy.core import accept_gate
from pydantic import ValidationError

ALONE = Policy(version="p", target_precision=0.95, min_verified=10)
SHARED = ALONE.model_copy(update={"shared_threshold": True})
# Adaptive sampling: budget 52 (the fewest all-correct verdicts that certify 0.95), floor
# 0.01, ceiling 0.5, and the floor paid once (floor budget 0).
ADAPTIVE = SHARED.model_copy(
    update={
        "calibration_rate": 0.01,
        "calibration_max_rate": 0.5,
        "calibration_budget": 52,
        "calibration_floor_budget": 0,
    }
)


def verdicts(label: str, confidences: list[float], wrong: set[int] = frozenset()) -> list[Verdict]:
    # Recorded at calibration rate 1: every verdict is in the calibration sample.
    return [
        Verdict(label, c, i not in wrong, item_id=f"{label}{i}", model_version="m",
                calibration_rate=1.0)
        for i, c in enumerate(confidences)
    ]  # fmt: skip


# A has 200 right verdicts at 0.999-0.9; B only 5 (under min_verified 10), all right.
A = verdicts("A", [0.999 - i / 2000 for i in range(200)])
B = verdicts("B", [0.97, 0.96, 0.95, 0.94, 0.93])


def test_without_sharing_a_class_under_min_verified_is_not_accepted() -> None:
    learned = learn_thresholds([*A, *B], ["A", "B"], ALONE)
    assert learned.classes["A"].threshold is not None
    assert learned.classes["B"].threshold is None
    assert learned.needs_calibration("B", ALONE.min_verified)


def test_a_class_under_min_verified_accepts_at_the_pooled_threshold() -> None:
    learned = learn_thresholds([*A, *B], ["A", "B"], SHARED)
    a, b = learned.classes["A"], learned.classes["B"]
    # The pooled threshold (the lowest verdict, all being right) covers B's verdicts; B
    # takes it as it is, A its own (its lowest verdict at or above it).
    assert b.shared and not a.shared
    assert b.threshold == min(v.confidence for v in [*A, *B]) < min(v.confidence for v in B)
    assert (b.support, b.correct) == (5, 5)
    assert a.threshold is not None and a.threshold >= b.threshold
    assert not learned.needs_calibration("B", SHARED.min_verified)
    gate = accept_gate("B", 0.93, SHARED, learned, False)
    assert gate.threshold == b.threshold and not gate.calibrate
    # The bound is the pooled one over everything accepted: A's 200 and B's 5.
    assert a.lower_bound == b.lower_bound >= 0.95


def test_the_class_own_threshold_replaces_the_shared_one_once_it_has_min_verified() -> None:
    more = verdicts("B", [0.97 - i / 100 for i in range(12)], wrong={11})
    learned = learn_thresholds([*A, *more], ["A", "B"], SHARED)
    b = learned.classes["B"]
    assert not b.shared and b.threshold is not None and b.verified == 12


def test_nothing_is_shared_when_the_pooled_bound_fails() -> None:
    weak = verdicts("A", [0.99 - i / 100 for i in range(40)], wrong=set(range(0, 40, 4)))
    learned = learn_thresholds([*weak, *B], ["A", "B"], SHARED)
    assert not learned.warm and learned.classes["B"].threshold is None


def test_a_sharing_class_keeps_sampling_like_an_uncertified_one() -> None:
    learned = learn_thresholds([*A, *B], ["A", "B"], ADAPTIVE)
    a, b = learned.classes["A"], learned.classes["B"]
    assert a.threshold is not None and b.threshold is not None and b.shared
    # 205 calibration verdicts: the budget and the floor budget are spent. A, certified on
    # its own, draws nothing more; B, accepting on the shared certificate, draws at the floor.
    assert a.calibration_rate == 0.0
    assert b.calibration_rate == ADAPTIVE.calibration_rate


def test_shared_threshold_is_refused_outside_dataset_scope_and_old_state_loads() -> None:
    with pytest.raises(ValidationError, match="shared_threshold needs precision_scope"):
        Policy(target_precision=0.95, precision_scope="class", shared_threshold=True)
    assert not Policy().shared_threshold
    # A stored state from before the field reads as not shared.
    assert not ClassThreshold(label="A", threshold=0.9, verified=10).shared
