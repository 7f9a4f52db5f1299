"""The routing rules, one test per rule, plus determinism and drift tightening."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from mitl_contracts.datasets import Policy
from mitl_contracts.events import ItemContent, Prediction
from mitl_policy import core
from mitl_policy.uncertainty import uncertainty

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LABELS = ["A", "B", "C"]
POLICY = Policy(
    version="p1",
    accept_threshold=0.8,
    escalation_floor=0.4,
    outlier_threshold=2.0,
    escalate_metadata={"domain": ["medical"]},
)


def prediction(probs: list[float], outlier: float = 0.0, **metadata: str) -> Prediction:
    return Prediction(
        event_id="p-1",
        dataset="d",
        item_id="i-1",
        content=ItemContent(text="t", metadata=metadata),
        model_version="m1",
        labels=LABELS,
        probabilities=probs,
        outlier_score=outlier,
    )


def test_confident_prediction_is_accepted_as_pseudo_label() -> None:
    routed = core.route(prediction([0.9, 0.05, 0.05]), POLICY, now=NOW)
    assert routed.decision.route == "accept"
    assert routed.review is None
    assert routed.label is not None and routed.label.label == "A"
    assert routed.label.source == "model" and routed.label.action == "auto_accept"
    assert routed.decision.policy_version == "p1" and routed.decision.model_version == "m1"


def test_threshold_is_inclusive() -> None:
    assert core.route(prediction([0.8, 0.1, 0.1]), POLICY, now=NOW).decision.route == "accept"


def test_uncertain_prediction_goes_to_annotator_review_with_priority() -> None:
    routed = core.route(prediction([0.6, 0.3, 0.1]), POLICY, now=NOW)
    assert routed.decision.route == "review"
    assert routed.label is None
    assert routed.review is not None and routed.review.queue == "annotator"
    assert routed.review.suggested_label == "A" and not routed.review.hide_suggestion
    assert routed.review.priority == pytest.approx(uncertainty([0.6, 0.3, 0.1], POLICY.uncertainty))


def test_below_floor_escalates_to_expert() -> None:
    routed = core.route(prediction([0.35, 0.33, 0.32]), POLICY, now=NOW)
    assert routed.decision.route == "escalate"
    assert routed.review is not None and routed.review.queue == "expert"
    assert "escalation floor" in routed.decision.reason


def test_outlier_escalates_even_when_confident() -> None:
    routed = core.route(prediction([0.95, 0.03, 0.02], outlier=3.0), POLICY, now=NOW)
    assert routed.decision.route == "escalate" and "outlier" in routed.decision.reason


def test_regulated_metadata_escalates_even_when_confident() -> None:
    routed = core.route(prediction([0.95, 0.03, 0.02], domain="medical"), POLICY, now=NOW)
    assert routed.decision.route == "escalate"
    assert routed.decision.reason == "metadata domain=medical requires an expert"


def test_uncertainty_ranks_less_sure_predictions_higher() -> None:
    for strategy in ("least_confidence", "margin", "entropy"):
        sure = uncertainty([0.9, 0.05, 0.05], strategy)  # type: ignore[arg-type]
        unsure = uncertainty([0.4, 0.35, 0.25], strategy)  # type: ignore[arg-type]
        assert 0.0 <= sure < unsure <= 1.0
    assert uncertainty([1 / 3, 1 / 3, 1 / 3], "entropy") == pytest.approx(1.0)


def test_spot_check_share_is_deterministic_and_close_to_rate() -> None:
    policy = POLICY.model_copy(update={"spot_check_rate": 0.25})
    picked = 0
    for i in range(2000):
        p = prediction([0.9, 0.05, 0.05]).model_copy(update={"item_id": f"item-{i}"})
        first, second = core.route(p, policy, now=NOW), core.route(p, policy, now=NOW)
        assert first == second
        if first.decision.spot_check:
            picked += 1
            assert first.review is not None and first.review.hide_suggestion
            assert first.label is not None  # still accepted; the review measures precision
            # Ahead of every active-learning review, as a calibration review is: a spot check
            # measures precision only once it is labeled.
            assert first.review.priority == first.decision.priority
            assert first.review.priority >= core.CALIBRATION_PRIORITY
        else:
            assert first.review is None
            assert first.decision.priority == uncertainty([0.9, 0.05, 0.05], "margin")
    assert 0.21 < picked / 2000 < 0.29


def test_drift_alert_tightens_policy() -> None:
    p = prediction([0.82, 0.1, 0.08])
    assert core.route(p, POLICY, now=NOW).decision.route == "accept"
    tightened = core.route(p, POLICY, now=NOW, drift_active=True)
    assert tightened.decision.route == "review"
    assert tightened.decision.policy_version == "p1+drift"
    assert tightened.decision.thresholds["accept_threshold"] == pytest.approx(0.85)


def test_same_prediction_routes_to_same_event_ids() -> None:
    a, b = (
        core.route(prediction([0.6, 0.3, 0.1]), POLICY, now=NOW),
        core.route(prediction([0.6, 0.3, 0.1]), POLICY, now=NOW),
    )
    assert a.decision.event_id == b.decision.event_id == "decision-p-1"
    assert a.review and b.review and a.review.event_id == b.review.event_id


def test_client_predictions_are_labelled_as_client_source() -> None:
    p = prediction([0.9, 0.05, 0.05]).model_copy(update={"source": "client"})
    routed = core.route(p, POLICY, now=NOW)
    assert routed.label is not None and routed.label.source == "client"


# Policies with a target precision: learned thresholds, cold start, escalation rules.

LEARNING = Policy(
    version="t1",
    target_precision=0.95,
    escalation_floor=0.2,
    spot_check_rate=0.0,
    spot_check_max_rate=0.0,
)


def learned(threshold: float | None, verified: int = 100, **extra: object) -> core.Thresholds:
    from mitl_policy.calibration import ClassThreshold

    classes = {
        "A": ClassThreshold("A", threshold, verified, 90, 90, 0.96),
        "B": ClassThreshold("B", None, verified),
        "C": ClassThreshold("C", None, 0),
    }
    return core.Thresholds("t1", classes, float(extra.get("rate", 0.0)))  # type: ignore[arg-type]


def test_learned_threshold_accepts_and_records_what_was_in_force() -> None:
    context = core.RouteContext(thresholds=learned(0.7))
    routed = core.route(prediction([0.75, 0.2, 0.05]), LEARNING, now=NOW, context=context)
    assert routed.decision.route == "accept" and routed.label is not None
    assert routed.decision.thresholds["accept_threshold"] == pytest.approx(0.7)
    assert routed.decision.thresholds["accept_threshold.A"] == pytest.approx(0.7)
    assert routed.decision.thresholds["target_precision"] == pytest.approx(0.95)
    assert "precision bound 0.9600" in routed.decision.reason
    below = core.route(prediction([0.65, 0.3, 0.05]), LEARNING, now=NOW, context=context)
    assert below.decision.route == "review" and below.review is not None
    assert below.review.priority < 1.0 and not below.review.hide_suggestion


def test_cold_start_sends_a_blind_calibration_sample_ahead_of_the_queue() -> None:
    for context in (core.RouteContext(), core.RouteContext(thresholds=learned(0.7))):
        p = prediction([0.05, 0.05, 0.9])  # class C: never verified
        routed = core.route(p, LEARNING, now=NOW, context=context)
        assert routed.decision.route == "review" and routed.label is None
        assert routed.review is not None and routed.review.hide_suggestion
        assert routed.review.priority >= core.CALIBRATION_PRIORITY
        assert "cold start" in routed.decision.reason


def test_class_without_threshold_but_enough_evidence_is_ordinary_review() -> None:
    context = core.RouteContext(thresholds=learned(0.7))
    routed = core.route(prediction([0.05, 0.9, 0.05]), LEARNING, now=NOW, context=context)
    assert routed.decision.route == "review" and routed.decision.priority < 1.0
    assert "no threshold reaching precision 0.95" in routed.decision.reason


def test_drift_raises_learned_thresholds() -> None:
    context = core.RouteContext(thresholds=learned(0.7))
    p = prediction([0.72, 0.2, 0.08])
    assert core.route(p, LEARNING, now=NOW, context=context).decision.route == "accept"
    tightened = core.route(p, LEARNING, now=NOW, drift_active=True, context=context)
    assert tightened.decision.route == "review"
    assert tightened.decision.thresholds["accept_threshold"] == pytest.approx(0.75)
    assert tightened.decision.policy_version == "t1+drift"


def test_learned_spot_check_share_applies_to_accepted_items() -> None:
    context = core.RouteContext(thresholds=learned(0.7, rate=1.0))
    routed = core.route(prediction([0.9, 0.05, 0.05]), LEARNING, now=NOW, context=context)
    assert routed.decision.spot_check and routed.review is not None
    assert routed.review.hide_suggestion and routed.label is not None


def test_flagged_class_segment_escalates() -> None:
    context = core.RouteContext(thresholds=learned(0.7), drift_segments=frozenset({"class:A"}))
    routed = core.route(prediction([0.95, 0.03, 0.02]), LEARNING, now=NOW, context=context)
    assert routed.decision.route == "escalate" and routed.review is not None
    assert routed.review.queue == "expert"
    assert routed.decision.reason == "drift monitor flags segment class:A"


def test_a_new_model_disagreeing_with_an_earlier_one_escalates() -> None:
    from mitl_policy.escalation import EarlierPrediction

    p = prediction([0.9, 0.05, 0.05])  # m1 says A
    other = core.RouteContext(earlier=EarlierPrediction("m0", "B"))
    routed = core.route(p, POLICY, now=NOW, context=other)
    assert routed.decision.route == "escalate"
    assert routed.decision.reason == "model m1 predicts A but m0 predicted B"
    agreeing = core.RouteContext(earlier=EarlierPrediction("m0", "A"))
    assert core.route(p, POLICY, now=NOW, context=agreeing).decision.route == "accept"
    off = POLICY.model_copy(update={"escalate_on_model_change": False})
    assert core.route(p, off, now=NOW, context=other).decision.route == "accept"


def test_a_model_change_can_go_to_annotators_instead_of_experts() -> None:
    from mitl_policy.escalation import EarlierPrediction

    to_people = POLICY.model_copy(update={"model_change_queue": "annotator"})
    other = core.RouteContext(earlier=EarlierPrediction("m0", "B"))
    # Confident, but the earlier version disagreed: reviewed by an annotator, not accepted.
    routed = core.route(prediction([0.9, 0.05, 0.05]), to_people, now=NOW, context=other)
    assert routed.decision.route == "review" and routed.review is not None
    assert routed.review.queue == "annotator" and not routed.review.hide_suggestion
    assert routed.decision.reason == "model m1 predicts A but m0 predicted B"
    # The other escalation rules still call the expert: here the floor.
    low = core.route(prediction([0.34, 0.33, 0.33]), to_people, now=NOW, context=other)
    assert low.decision.route == "escalate" and "escalation floor" in low.decision.reason
    agreeing = core.RouteContext(earlier=EarlierPrediction("m0", "A"))
    assert core.route(prediction([0.9, 0.05, 0.05]), to_people, now=NOW,
                      context=agreeing).decision.route == "accept"  # fmt: skip


def test_near_duplicates_are_pushed_down_the_queue() -> None:
    policy = POLICY.model_copy(update={"diversity_weight": 0.5})
    p = prediction([0.6, 0.3, 0.1])
    fresh = core.route(p, policy, now=NOW, context=core.RouteContext(similarity=0.0))
    duplicate = core.route(p, policy, now=NOW, context=core.RouteContext(similarity=1.0))
    assert duplicate.review is not None and fresh.review is not None
    assert duplicate.review.priority == pytest.approx(fresh.review.priority * 0.5)


def test_cold_items_that_could_never_be_accepted_are_ordinary_reviews() -> None:
    policy = LEARNING.model_copy(update={"min_accept_threshold": 0.8})
    routed = core.route(prediction([0.6, 0.3, 0.1]), policy, now=NOW)
    assert routed.decision.route == "review" and routed.review is not None
    assert routed.review.priority < 1.0 and not routed.review.hide_suggestion
    assert routed.decision.reason == "cold start: A has 0 verified items"


def test_calibration_sample_is_reviewed_blind_even_above_the_threshold() -> None:
    from mitl_policy.calibration import in_calibration_sample

    policy = LEARNING.model_copy(update={"calibration_rate": 0.3})
    context = core.RouteContext(thresholds=learned(0.7))
    routes = {}
    for i in range(200):
        p = prediction([0.9, 0.05, 0.05]).model_copy(update={"item_id": f"i-{i}"})
        routed = core.route(p, policy, now=NOW, context=context)
        sampled = in_calibration_sample(p.item_id, p.model_version, 0.9, policy)
        routes[p.item_id] = routed.decision.route
        if sampled:
            assert routed.decision.route == "review" and routed.label is None
            assert routed.review is not None and routed.review.hide_suggestion
            assert routed.review.priority >= core.CALIBRATION_PRIORITY
            assert "calibration sample" in routed.decision.reason
        else:
            assert routed.decision.route == "accept"
    assert 40 <= list(routes.values()).count("review") <= 80  # about 30 % of 200
    # Under min_accept_threshold an item is never a calibration sample.
    assert not in_calibration_sample("i-1", "m1", 0.4, policy)


def test_with_a_calibration_sample_cold_classes_are_ordered_by_uncertainty() -> None:
    policy = LEARNING.model_copy(update={"calibration_rate": 1e-9})
    routed = core.route(prediction([0.05, 0.05, 0.9]), policy, now=NOW)
    assert routed.decision.route == "review" and routed.decision.priority < 1.0
    assert routed.review is not None and not routed.review.hide_suggestion
    assert "cold start" in routed.decision.reason
