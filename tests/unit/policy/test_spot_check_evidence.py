"""The spot-check share on every blind verdict of what is accepted, and a per-class minimum
of verified items shared by the classes (min_verified_scope "dataset")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from mitl_contracts.datasets import Policy
from mitl_contracts.events import ItemContent, Prediction
from mitl_policy import core
from mitl_policy.calibration import (
    Verdict,
    accepted_evidence,
    in_calibration_sample,
    learn_thresholds,
)
from mitl_policy.core import RouteContext

SAMPLED = Policy(
    version="p",
    target_precision=0.95,
    calibration_rate=0.5,
    min_verified=10,
    spot_check_rate=0.01,
    spot_check_max_rate=0.2,
)
ACCEPTED = SAMPLED.model_copy(update={"spot_check_evidence": "accepted"})


def calibration_verdicts(
    confidence: float, count: int, policy: Policy, right: bool = True, prefix: str = "i"
) -> list[Verdict]:
    """`count` verdicts of class A at `confidence` drawn into the calibration sample."""
    found: list[Verdict] = []
    index = 0
    while len(found) < count:
        item = f"{prefix}{index}"
        if in_calibration_sample(item, "m1", confidence, policy):
            found.append(Verdict("A", confidence, right, item_id=item, model_version="m1"))
        index += 1
    return found


def test_accepted_evidence_adds_calibration_verdicts_at_or_above_the_threshold() -> None:
    above = calibration_verdicts(0.99, 300, SAMPLED)
    # Half wrong under 0.99: the threshold stays at 0.99.
    drawn_low = calibration_verdicts(0.6, 60, SAMPLED, right=False, prefix="low")
    not_drawn = [Verdict("A", 0.99, False, item_id="x", model_version="m1", calibration_rate=0.0)]
    checks = [Verdict("A", 0.99, True, spot_check=True, item_id=f"s{i}") for i in range(3)]
    window = [*above, *drawn_low, *not_drawn, *checks]
    learned = learn_thresholds(window, ["A"], ACCEPTED)
    threshold = learned.classes["A"].threshold
    assert threshold == 0.99
    evidence = accepted_evidence(window, learned.classes, ACCEPTED)
    # The spot checks and the calibration verdicts the threshold covers; not the verdict
    # outside the sample, nor the sampled ones under the threshold.
    assert len(evidence) == len(checks) + len(above)
    assert accepted_evidence(window, learned.classes, SAMPLED) == checks


def test_the_share_falls_where_spot_checks_alone_keep_it_at_the_ceiling() -> None:
    sample = calibration_verdicts(0.99, 300, SAMPLED)
    checks = [Verdict("A", 0.99, True, spot_check=True, item_id=f"s{i}") for i in range(30)]
    alone = learn_thresholds([*sample, *checks], ["A"], SAMPLED)
    pooled = learn_thresholds([*sample, *checks], ["A"], ACCEPTED)
    assert alone.spot_check_rate == pytest.approx(0.2)  # 30 checks cannot clear 0.955
    assert pooled.spot_check_rate == pytest.approx(0.01) and pooled.spot_check_bound > 0.955
    # Wrong verdicts among what is accepted bring the share back up.
    wrong = [Verdict("A", 0.99, False, spot_check=True, item_id=f"w{i}") for i in range(30)]
    worse = learn_thresholds([*sample, *checks, *wrong], ["A"], ACCEPTED)
    assert worse.spot_check_rate == pytest.approx(0.2)


def test_accepted_evidence_needs_a_calibration_sample() -> None:
    with pytest.raises(ValueError, match="spot_check_evidence"):
        Policy(target_precision=0.95, spot_check_evidence="accepted")


def test_a_shared_minimum_is_each_class_s_share_rounded_up() -> None:
    shared = Policy(target_precision=0.9, min_verified=100, min_verified_scope="dataset")
    assert shared.class_min_verified(2) == 50
    assert shared.class_min_verified(10) == 10
    assert shared.class_min_verified(3) == 34
    assert shared.model_copy(update={"min_verified_scope": "class"}).class_min_verified(10) == 100


TEN = [str(digit) for digit in range(10)]
SHARED = Policy(version="p", target_precision=0.9, min_verified=100, min_verified_scope="dataset")


def twelve_right_per_class() -> list[Verdict]:
    return [Verdict(label, 0.99, True, item_id=f"{label}-{i}") for label in TEN for i in range(12)]


def test_with_a_shared_minimum_ten_classes_need_ten_verified_items_each() -> None:
    verdicts = twelve_right_per_class()
    each = SHARED.model_copy(update={"min_verified_scope": "class"})
    per_class = learn_thresholds(verdicts, TEN, each)
    assert not per_class.warm  # 12 of each is under 100 per class
    learned = learn_thresholds(verdicts, TEN, SHARED)
    assert all(entry.threshold == 0.99 for entry in learned.classes.values())
    assert not learned.needs_calibration("3", SHARED.class_min_verified(len(TEN)))


def test_the_router_gates_a_class_on_its_share_of_a_shared_minimum() -> None:
    learned = learn_thresholds(twelve_right_per_class(), TEN, SHARED)
    probabilities = [0.991] + [0.001] * 9
    prediction = Prediction(
        event_id="e", dataset="d", item_id="i", content=ItemContent(text="t"),
        model_version="m1", labels=TEN, probabilities=probabilities,
    )  # fmt: skip
    now = datetime(2026, 1, 1, tzinfo=UTC)
    context = RouteContext(thresholds=learned)
    assert core.route(prediction, SHARED, now=now, context=context).decision.route == "accept"
    per_class = SHARED.model_copy(update={"min_verified_scope": "class"})
    routed = core.route(prediction, per_class, now=now, context=context)
    assert routed.decision.route == "review" and "cold start" in routed.decision.reason
