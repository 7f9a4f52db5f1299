"""Multi-label routing: every label confidently in or out, per-label thresholds learned from
per-label verdicts, active learning by the least certain label."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mitl_contracts.datasets import Policy
from mitl_contracts.events import ItemContent, Prediction, distribution_of, label_set_key
from mitl_policy.calibration import learn_thresholds
from mitl_policy.core import CALIBRATION_PRIORITY, RouteContext
from mitl_policy.escalation import EarlierPrediction
from mitl_policy.multilabel import (
    label_decisions,
    label_set_of,
    multilabel_verdicts,
    route_multilabel,
)
from mitl_policy.verdicts import Outcome

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LABELS = ["a", "b", "c"]
RAW = Policy(version="p1", accept_threshold=0.9, escalation_floor=0.3)
LEARNED = Policy(version="p2", target_precision=0.9, min_verified=20, min_accept_threshold=0.6,
                 escalation_floor=0.1, spot_check_rate=0.0, spot_check_max_rate=0.0)  # fmt: skip


def prediction(per_label: dict[str, float], item: str = "i-1", version: str = "m1") -> Prediction:
    return Prediction(
        event_id=f"p-{item}-{version}",
        dataset="d",
        item_id=item,
        content=ItemContent(vector=[1.0, 2.0]),
        model_version=version,
        labels=list(per_label),
        probabilities=distribution_of(list(per_label.values())),
        label_probabilities=per_label,
    )


def test_every_label_confident_is_accepted_with_the_label_set() -> None:
    routed = route_multilabel(prediction({"a": 0.97, "b": 0.02, "c": 0.95}), RAW, LABELS, now=NOW)
    assert routed.decision.route == "accept"
    assert routed.decision.predicted_labels == ["a", "c"]
    assert routed.decision.predicted_label == "a|c"
    assert routed.decision.confidence == pytest.approx(0.95)
    assert routed.label is not None and routed.label.labels == ["a", "c"]
    assert routed.label.label == label_set_key(["c", "a"])
    assert routed.review is None


def test_a_spot_checked_label_set_is_reviewed_blind_ahead_of_the_queue() -> None:
    checked = RAW.model_copy(update={"spot_check_rate": 1.0})
    routed = route_multilabel(
        prediction({"a": 0.97, "b": 0.02, "c": 0.95}), checked, LABELS, now=NOW
    )
    assert routed.decision.route == "accept" and routed.decision.spot_check
    assert routed.label is not None and routed.review is not None
    assert routed.review.hide_suggestion and routed.review.priority >= CALIBRATION_PRIORITY


def test_one_uncertain_label_sends_the_item_to_review_naming_it() -> None:
    routed = route_multilabel(prediction({"a": 0.97, "b": 0.6, "c": 0.99}), RAW, LABELS, now=NOW)
    assert routed.decision.route == "review"
    assert "label b in at confidence 0.600" in routed.decision.reason
    assert routed.review is not None
    assert routed.review.suggested_labels == ["a", "b", "c"]
    assert routed.review.label_probabilities == {"a": 0.97, "b": 0.6, "c": 0.99}
    assert routed.label is None


def test_priority_ranks_by_least_certain_label() -> None:
    near_flip = route_multilabel(prediction({"a": 0.99, "b": 0.52, "c": 0.01}), RAW, LABELS,
                                 now=NOW)  # fmt: skip
    less = route_multilabel(prediction({"a": 0.7, "b": 0.75, "c": 0.3}), RAW, LABELS, now=NOW)
    assert near_flip.decision.priority > less.decision.priority


def test_missing_label_probability_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"no probability for label.*c"):
        route_multilabel(prediction({"a": 0.9, "b": 0.1}), RAW, LABELS, now=NOW)
    with pytest.raises(ValueError, match="no probability for label"):
        label_decisions({"a": 0.5}, LABELS)


def test_model_change_of_the_label_set_escalates() -> None:
    context = RouteContext(earlier=EarlierPrediction("m0", "a"))
    routed = route_multilabel(prediction({"a": 0.97, "b": 0.02, "c": 0.95}), RAW, LABELS,
                              now=NOW, context=context)  # fmt: skip
    assert routed.decision.route == "escalate"
    assert routed.review is not None and routed.review.queue == "expert"
    to_people = RAW.model_copy(update={"model_change_queue": "annotator"})
    reviewed = route_multilabel(prediction({"a": 0.97, "b": 0.02, "c": 0.95}), to_people,
                                LABELS, now=NOW, context=context)  # fmt: skip
    assert reviewed.decision.route == "review" and reviewed.review is not None
    assert reviewed.review.queue == "annotator" and "predicted {a}" in reviewed.decision.reason


def _outcomes(n: int, wrong_label_every: int = 0) -> tuple[list[Outcome], dict]:
    outcomes, confidences = [], {}
    for i in range(n):
        item = f"i{i}"
        answer = {"a"}
        if wrong_label_every and i % wrong_label_every == 0:
            answer = {"a", "b"}
        outcomes.append(
            Outcome(
                event_id=f"l{i}",
                item_id=item,
                model_version="m1",
                predicted_label="a",
                confidence=0.9,
                label=label_set_key(answer),
                source="annotator",
                spot_check=False,
                occurred_at=NOW + timedelta(seconds=i),
            )
        )
        confidences[(item, "m1")] = {"a": 0.99, "b": 0.9, "c": 0.97}
    return outcomes, confidences


def test_verdicts_are_one_per_label_decision() -> None:
    outcomes, confidences = _outcomes(10, wrong_label_every=5)
    found = multilabel_verdicts(outcomes, confidences, LABELS, LEARNED)
    assert len(found) == 30
    wrong = [v for v in found if not v.correct]
    assert {v.predicted_label for v in wrong} == {"b"} and len(wrong) == 2
    assert found[0].item_id == "i9"  # newest first


def test_expert_settles_the_label_set() -> None:
    outcomes, confidences = _outcomes(1)
    expert = Outcome(
        event_id="e", item_id="i0", model_version="m1", predicted_label="a", confidence=0.9,
        label="a|c", source="expert", spot_check=False, occurred_at=NOW + timedelta(hours=1),
    )  # fmt: skip
    found = multilabel_verdicts([*outcomes, expert], confidences, LABELS, LEARNED)
    assert {v.predicted_label: v.correct for v in found} == {"a": True, "b": True, "c": False}


def test_learned_per_label_thresholds_accept_confident_items_only() -> None:
    outcomes, confidences = _outcomes(200)
    found = multilabel_verdicts(outcomes, confidences, LABELS, LEARNED)
    thresholds = learn_thresholds(found, LABELS, LEARNED)
    assert all(thresholds.threshold(label) is not None for label in LABELS)
    context = RouteContext(thresholds=thresholds)
    sure = route_multilabel(prediction({"a": 0.995, "b": 0.005, "c": 0.01}, "n1"), LEARNED,
                            LABELS, now=NOW, context=context)  # fmt: skip
    assert sure.decision.route == "accept"
    assert "accept_threshold.b" in sure.decision.thresholds
    unsure = route_multilabel(prediction({"a": 0.995, "b": 0.3, "c": 0.01}, "n2"), LEARNED,
                              LABELS, now=NOW, context=context)  # fmt: skip
    assert unsure.decision.route == "review"


def test_cold_start_sends_confident_items_to_calibration() -> None:
    routed = route_multilabel(prediction({"a": 0.99, "b": 0.01, "c": 0.98}), LEARNED, LABELS,
                              now=NOW)  # fmt: skip
    assert routed.decision.route == "review"
    assert routed.decision.priority >= CALIBRATION_PRIORITY
    assert routed.review is not None and routed.review.hide_suggestion
    # An item whose weakest label is under the floor is an ordinary review, not calibration.
    weak = route_multilabel(prediction({"a": 0.99, "b": 0.45, "c": 0.98}, "i-2"), LEARNED,
                            LABELS, now=NOW)  # fmt: skip
    assert weak.decision.route == "review" and weak.decision.priority < CALIBRATION_PRIORITY


def test_label_set_key_round_trip() -> None:
    assert label_set_of(label_set_key(["c", "a"])) == {"a", "c"}
    assert label_set_of(label_set_key([])) == frozenset()
