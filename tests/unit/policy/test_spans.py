"""Span routing: an item is accepted only when every span clears its label's threshold and
"nothing missing" clears its own; thresholds are learned from entity-level part verdicts;
active learning ranks items by their least certain part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mitl_contracts.datasets import Policy
from mitl_contracts.events import ItemContent, Prediction
from mitl_contracts.spans import Span, spans_key, spans_of_key
from mitl_policy.calibration import learn_thresholds
from mitl_policy.core import CALIBRATION_PRIORITY, RouteContext
from mitl_policy.escalation import EarlierPrediction
from mitl_policy.spans import (
    COMPLETE,
    route_spans,
    span_confidences,
    span_verdicts,
    threshold_labels,
)
from mitl_policy.tasks import learned_labels, learning_verdicts, outcome_confidences
from mitl_policy.verdicts import Outcome

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TEXT = "Ada met Bob in Rome today"
LABELS = ["person", "place"]
RAW = Policy(version="p1", accept_threshold=0.9, escalation_floor=0.1)
LEARNED = Policy(version="p2", target_precision=0.9, min_verified=20, min_accept_threshold=0.6,
                 escalation_floor=0.1, spot_check_rate=0.0, spot_check_max_rate=0.0)  # fmt: skip


def span(start: int, end: int, label: str, confidence: float | None = None) -> Span:
    return Span(start=start, end=end, label=label, confidence=confidence)


def prediction(spans: list[Span], complete: float, item: str = "i-1") -> Prediction:
    return Prediction(
        event_id=f"p-{item}", dataset="ner", item_id=item, content=ItemContent(text=TEXT),
        model_version="m1", labels=LABELS, probabilities=[0.5, 0.5], spans=spans,
        spans_complete=complete,
    )  # fmt: skip


ADA, BOB, ROME = (
    span(0, 3, "person", 0.97),
    span(8, 11, "person", 0.95),
    span(15, 19, "place", 0.99),
)


def test_every_span_and_nothing_missing_confident_is_accepted_with_the_span_set() -> None:
    routed = route_spans(prediction([ROME, ADA, BOB], 0.96), RAW, now=NOW)
    decision = routed.decision
    assert decision.route == "accept"
    assert decision.predicted_spans == [ADA, BOB, ROME]  # in text order
    assert decision.predicted_label == "0:3:person|8:11:person|15:19:place"
    assert decision.spans_complete == 0.96 and decision.confidence == pytest.approx(0.95)
    assert routed.label is not None and routed.label.action == "auto_accept"
    assert routed.label.label == decision.predicted_label
    assert routed.label.spans == [
        span(0, 3, "person"),
        span(8, 11, "person"),
        span(15, 19, "place"),
    ]
    assert routed.label.suggested_spans == [ADA, BOB, ROME]
    assert routed.review is None


def test_an_uncertain_span_or_a_likely_missing_entity_sends_the_item_to_review() -> None:
    weak = span(8, 11, "person", 0.6)
    routed = route_spans(prediction([ADA, weak], 0.99), RAW, now=NOW)
    assert routed.decision.route == "review"
    assert "span 8:11:person at confidence 0.600" in routed.decision.reason
    review = routed.review
    assert review is not None and not review.hide_suggestion
    assert review.suggested_spans == [ADA, weak] and review.spans_complete == 0.99
    assert review.suggested_label == spans_key([ADA, weak])
    assert review.confidence == pytest.approx(0.6)
    missing = route_spans(prediction([ADA], 0.5, "i-2"), RAW, now=NOW)
    assert missing.decision.route == "review"
    assert "nothing missing at confidence 0.500" in missing.decision.reason
    # No entity at all, confidently: an accepted empty span set.
    empty = route_spans(prediction([], 0.99, "i-3"), RAW, now=NOW)
    assert empty.decision.route == "accept" and empty.label is not None
    assert empty.label.spans == [] and empty.label.label == ""


def test_priority_ranks_by_the_least_certain_part() -> None:
    near_flip = route_spans(prediction([span(0, 3, "person", 0.52)], 0.99), RAW, now=NOW)
    less = route_spans(prediction([span(0, 3, "person", 0.8)], 0.75, "i-2"), RAW, now=NOW)
    assert near_flip.decision.priority > less.decision.priority


def test_another_span_set_from_a_new_model_escalates() -> None:
    context = RouteContext(earlier=EarlierPrediction("m0", "0:3:person"))
    routed = route_spans(prediction([ADA, BOB], 0.99), RAW, now=NOW, context=context)
    assert routed.decision.route == "escalate"
    assert routed.review is not None and routed.review.queue == "expert"
    flagged = RouteContext(drift_segments=frozenset({"class:place"}))
    drifted = route_spans(prediction([ROME], 0.99), RAW, now=NOW, context=flagged)
    assert drifted.decision.route == "escalate" and "class:place" in drifted.decision.reason


def test_a_prediction_without_spans_is_refused() -> None:
    plain = prediction([ADA], 0.9).model_copy(update={"spans": None, "spans_complete": None})
    with pytest.raises(ValueError, match="carries spans"):
        route_spans(plain, RAW, now=NOW)


def outcome(i: int, predicted: list[Span], verified: list[Span], source: str = "annotator",
            at: int = 0) -> Outcome:  # fmt: skip
    made = prediction(predicted, 0.97, f"i{i}")
    return Outcome(
        event_id=f"l{i}-{source}-{at}", item_id=f"i{i}", model_version="m1",
        predicted_label=spans_key(predicted), confidence=0.9, label=spans_key(verified),
        source=source, spot_check=False, occurred_at=NOW + timedelta(seconds=i, hours=at),
        label_confidences=outcome_confidences(made),
    )  # fmt: skip


def test_part_verdicts_are_entity_level() -> None:
    relabelled = span(15, 19, "person")
    found = span_verdicts(
        [
            outcome(0, [ADA, ROME], [span(0, 3, "person"), span(15, 19, "place")]),
            outcome(1, [ADA, ROME], [span(0, 3, "person"), relabelled, span(8, 11, "person")]),
        ],
        LEARNED,
    )
    newest = [(v.item_id, v.predicted_label, v.correct) for v in found]
    assert newest == [
        ("i1", "person", True), ("i1", "place", False), ("i1", COMPLETE, False),
        ("i0", "person", True), ("i0", "place", True), ("i0", COMPLETE, True),
    ]  # fmt: skip
    assert found[0].confidence == pytest.approx(0.97) and found[2].confidence == 0.97


def test_an_expert_settles_and_annotators_must_all_agree() -> None:
    right = [span(0, 3, "person")]
    disputed = [outcome(0, [ADA], right), outcome(0, [ADA], [], at=1)]
    assert [v.correct for v in span_verdicts(disputed, LEARNED)] == [False, True]
    settled = [*disputed, outcome(0, [ADA], right, source="expert", at=2)]
    assert [v.correct for v in span_verdicts(settled, LEARNED)] == [True, True]


def test_learned_thresholds_accept_confident_items_only() -> None:
    rows = [outcome(i, [ADA], [span(0, 3, "person")]) for i in range(200)]
    thresholds = learn_thresholds(span_verdicts(rows, LEARNED), threshold_labels(LABELS), LEARNED)
    assert thresholds.threshold("person") is not None
    assert thresholds.threshold(COMPLETE) is not None
    assert thresholds.threshold("place") is None  # never predicted, never verified
    context = RouteContext(thresholds=thresholds)
    sure = route_spans(prediction([span(0, 3, "person", 0.99)], 0.99, "n1"), LEARNED, now=NOW,
                       context=context)  # fmt: skip
    assert sure.decision.route == "accept"
    assert {"accept_threshold.person", f"accept_threshold.{COMPLETE}"} <= set(
        sure.decision.thresholds
    )
    place = route_spans(prediction([span(15, 19, "place", 0.99)], 0.99, "n2"), LEARNED, now=NOW,
                        context=context)  # fmt: skip
    assert place.decision.route == "review" and "place" in place.decision.reason


def test_mistakes_keep_a_label_from_being_accepted() -> None:
    rows = [outcome(i, [ADA, ROME], [span(0, 3, "person")] + ([span(15, 19, "place")] if i % 2
            else [])) for i in range(200)]  # fmt: skip
    thresholds = learn_thresholds(
        span_verdicts(rows, LEARNED), threshold_labels(LABELS), LEARNED.model_copy(
            update={"precision_scope": "class"})
    )  # fmt: skip
    assert thresholds.threshold("person") is not None
    assert thresholds.threshold("place") is None  # half of its spans were wrong


def test_cold_start_sends_confident_items_to_calibration() -> None:
    routed = route_spans(prediction([ADA], 0.99), LEARNED, now=NOW)
    assert routed.decision.route == "review"
    assert routed.decision.priority >= CALIBRATION_PRIORITY
    assert routed.review is not None and routed.review.hide_suggestion
    weak = route_spans(prediction([span(0, 3, "person", 0.4)], 0.99, "i-2"), LEARNED, now=NOW)
    assert weak.decision.route == "review" and weak.decision.priority < CALIBRATION_PRIORITY


def test_task_dispatch_and_key_round_trip() -> None:
    made = prediction([ADA, ROME], 0.8)
    assert span_confidences(made) == {"0:3:person": 0.97, "15:19:place": 0.99, COMPLETE: 0.8}
    assert learned_labels("spans", LABELS) == ["person", "place", COMPLETE]
    assert learned_labels("single", LABELS) == LABELS
    rows = [outcome(0, [ADA], [span(0, 3, "person")])]
    assert len(learning_verdicts("spans", rows, LABELS, LEARNED)) == 2
    assert spans_of_key(spans_key([ROME, ADA])) == [span(0, 3, "person"), span(15, 19, "place")]
    assert spans_of_key("") == []
