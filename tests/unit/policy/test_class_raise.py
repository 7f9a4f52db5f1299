"""Scope "dataset": when a class's own verdicts raise its threshold above the pooled one
(`Policy.class_raise`): their share right under the target, or their upper bound under it."""

from __future__ import annotations

import pytest
from mitl_contracts.datasets import Policy
from mitl_policy.calibration import Verdict, learn_thresholds
from pydantic import ValidationError

OBSERVED = Policy(version="p", target_precision=0.95, min_verified=10)
SIGNIFICANT = OBSERVED.model_copy(update={"class_raise": "significant"})


def verdicts(label: str, confidences: list[float], wrong: set[int] = frozenset()) -> list[Verdict]:
    return [Verdict(label, c, i not in wrong) for i, c in enumerate(confidences)]


# A: 300 right verdicts at 0.999-0.9; B: 14 under them, its most confident one wrong
# (13 of 14 right, 0.929 < 0.95), so the pooled threshold covers all of B.
STRONG = verdicts("A", [0.999 - i / 3000 for i in range(300)])
ONE_SLIP = verdicts("B", [0.89 - i / 200 for i in range(14)], wrong={0})


def test_observed_raise_lifts_a_class_above_a_single_mistake() -> None:
    learned = learn_thresholds([*STRONG, *ONE_SLIP], ["A", "B"], OBSERVED)
    assert learned.classes["A"].threshold is not None
    # 13 of 14 is under 0.95 at every candidate down from the mistake: B is not accepted.
    assert learned.classes["B"].threshold is None


def test_significant_raise_keeps_the_pooled_threshold_for_one_mistake_in_fourteen() -> None:
    learned = learn_thresholds([*STRONG, *ONE_SLIP], ["A", "B"], SIGNIFICANT)
    a, b = learned.classes["A"], learned.classes["B"]
    # The pooled threshold (B's least confident verdict) stands for B.
    assert a.threshold is not None and b.threshold == min(v.confidence for v in ONE_SLIP)
    assert (b.support, b.correct) == (14, 13)
    # The pooled bound over what both thresholds accept still reaches the target.
    assert a.lower_bound >= 0.95 and b.lower_bound == a.lower_bound


def test_significant_raise_still_lifts_a_class_that_is_clearly_short() -> None:
    # B's 6 least confident of 30 are wrong: 24 of 30 is significantly under 0.95.
    confidences = [0.89 - i / 500 for i in range(30)]
    short = verdicts("B", confidences, wrong=set(range(24, 30)))
    learned = learn_thresholds([*STRONG, *short], ["A", "B"], SIGNIFICANT)
    b = learned.classes["B"].threshold
    assert b is not None and b > min(confidences)
    wrong_above = sum(not v.correct for v in short if v.confidence >= b)
    assert wrong_above < 6
    # The observed share lifts it at least as far (it asks more of the class's items).
    observed = learn_thresholds([*STRONG, *short], ["A", "B"], OBSERVED).classes["B"].threshold
    assert observed is not None and observed >= b


def test_class_raise_is_refused_outside_dataset_scope() -> None:
    with pytest.raises(ValidationError, match="class_raise 'significant' needs precision_scope"):
        Policy(target_precision=0.95, precision_scope="class", class_raise="significant")
    assert Policy().class_raise == "observed"
