"""The routing rules, one test per rule, plus determinism and drift tightening."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from mitl_contracts.datasets import Policy
from mitl_contracts.events import ItemContent, Prediction
from mitl_router import core
from mitl_router.uncertainty import uncertainty

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
    assert routed.review.priority == pytest.approx(uncertainty([0.6, 0.3, 0.1], "least_confidence"))


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
    assert 0.21 < picked / 2000 < 0.29


def test_drift_alert_tightens_policy() -> None:
    p = prediction([0.82, 0.1, 0.08])
    assert core.route(p, POLICY, now=NOW).decision.route == "accept"
    tightened = core.route(p, POLICY, now=NOW, drift_active=True)
    assert tightened.decision.route == "review"
    assert tightened.decision.policy_version == "p1+drift"
    assert tightened.decision.thresholds["accept_threshold"] == pytest.approx(0.85)


def test_same_prediction_routes_to_same_event_ids() -> None:
    a, b = core.route(prediction([0.6, 0.3, 0.1]), POLICY, now=NOW), core.route(prediction([0.6, 0.3, 0.1]), POLICY, now=NOW)
    assert a.decision.event_id == b.decision.event_id == "decision-p-1"
    assert a.review and b.review and a.review.event_id == b.review.event_id


def test_client_predictions_are_labelled_as_client_source() -> None:
    p = prediction([0.9, 0.05, 0.05]).model_copy(update={"source": "client"})
    routed = core.route(p, POLICY, now=NOW)
    assert routed.label is not None and routed.label.source == "client"
