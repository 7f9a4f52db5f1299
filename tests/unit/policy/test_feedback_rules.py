"""Verdicts from human labels, annotator disagreement, and near-duplicate signatures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from mitl_contracts.events import ItemContent, Prediction
from mitl_policy.diversity import RecentSignatures, signature
from mitl_policy.requests import disagreement_event_id, disagreement_request
from mitl_policy.verdicts import Outcome, annotators_disagree, verdicts

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def outcome(item: str, label: str, source: str = "annotator", minutes: int = 0, **kw) -> Outcome:
    return Outcome(
        event_id=f"{item}-{label}-{source}-{minutes}",
        item_id=item,
        model_version=kw.get("model", "m1"),
        predicted_label="A",
        confidence=0.9,
        label=label,
        source=source,
        spot_check=kw.get("spot", False),
        occurred_at=T0 + timedelta(minutes=minutes),
    )


def test_one_verdict_per_decision_newest_first() -> None:
    found = verdicts([outcome("x", "A", minutes=1), outcome("y", "B", minutes=2)])
    assert [v.correct for v in found] == [False, True]


def test_expert_settles_and_disagreement_counts_against_the_model() -> None:
    disputed = [outcome("x", "A"), outcome("x", "B", minutes=1)]
    assert verdicts(disputed)[0].correct is False
    settled = [*disputed, outcome("x", "A", source="expert", minutes=2)]
    assert verdicts(settled)[0].correct is True
    assert verdicts([outcome("x", "A", spot=True)])[0].spot_check


def test_annotator_disagreement_until_an_expert_answers() -> None:
    assert not annotators_disagree([("annotator", "A"), ("annotator", "A")])
    assert annotators_disagree([("annotator", "A"), ("annotator", "B")])
    assert not annotators_disagree([("annotator", "A"), ("annotator", "B"), ("expert", "B")])


def test_disagreement_request_goes_to_experts_once_per_item() -> None:
    p = Prediction(
        event_id="p",
        dataset="d",
        item_id="i",
        content=ItemContent(text="t"),
        model_version="m1",
        labels=["A", "B"],
        probabilities=[0.7, 0.3],
    )
    first = disagreement_request(p, "decision-p", "v1", ["B", "A"])
    again = disagreement_request(p, "decision-p", "v1", ["A", "B", "A"])
    assert first.event_id == again.event_id == disagreement_event_id("d", "i")
    assert first.queue == "expert" and first.hide_suggestion
    assert first.reason == "annotators disagree: A, B"


def test_signatures_find_near_duplicates_and_not_the_item_itself() -> None:
    spam = "Free entry in 2 a wkly comp to win FA Cup final tkts 21st May text FA to 87121"
    variant = spam.replace("21st", "22nd")
    other = "Are you coming to dinner tonight or should I save you a plate"
    window = RecentSignatures(2, [("a", signature(spam))])
    assert window.max_similarity("b", signature(variant)) > 0.6
    assert window.max_similarity("c", signature(other)) < 0.2
    assert window.max_similarity("a", signature(spam)) == 0.0
    assert np.array_equal(signature(spam), signature(spam))
    window.add("x", signature(other))
    window.add("y", signature(other))
    assert len(window) == 2 and window.max_similarity("b", signature(variant)) < 0.2


def test_policy_changed_event_names_the_learned_thresholds_and_is_idempotent() -> None:
    from mitl_contracts.datasets import Policy
    from mitl_policy.calibration import ClassThreshold, Thresholds
    from mitl_policy.policy_events import policy_changed

    policy = Policy(version="v7", target_precision=0.95)
    learned = Thresholds(
        "v7",
        {"A": ClassThreshold("A", 0.8, 300, 200, 199, 0.97), "B": ClassThreshold("B", None, 4)},
        0.02,
        outcomes=304,
    )
    event = policy_changed("d", "m1", policy, learned, T0)
    assert event.policy["accept_thresholds"] == {"A": 0.8}
    assert event.policy["model_version"] == "m1" and event.policy["target_precision"] == 0.95
    assert event.policy_version == "v7+learned-304" and event.changed_by == "router"
    assert policy_changed("d", "m1", policy, learned, T0 + timedelta(hours=1)).event_id == (
        event.event_id
    )
