"""Multi-label review tasks: intake checks the per-label probabilities, a person confirms or
corrects a label set, and the label event records the set and what was added and removed."""

from __future__ import annotations

from typing import Any

import pytest
from mitl_contracts.datasets import Catalog
from mitl_contracts.events import ItemContent, ReviewRequested
from mitl_review.core.auth import User
from mitl_review.core.errors import Unprocessable
from mitl_review.core.intake import Rejected, new_task
from mitl_review.core.labels import label_event
from mitl_review.core.submission import Complete, Submission, decide
from mitl_review.schemas import TaskView

from tests.unit.review.factories import NOW, leased_to

LABELS = ["a", "b", "c"]
CATALOG = Catalog.model_validate(
    {"datasets": {"ml": {"task": "multilabel", "input_kind": "vector", "vector_dim": 2,
                         "labels": LABELS}}}
)  # fmt: skip
ANN = User("ann", "annotator")
PER_LABEL = {"a": 0.9, "b": 0.6, "c": 0.1}


def request(**overrides: Any) -> ReviewRequested:
    fields: dict[str, Any] = {
        "event_id": "rr-ml", "dataset": "ml", "item_id": "i1", "decision_event_id": "d1",
        "queue": "annotator", "priority": 0.8, "reason": "label b in at confidence 0.600",
        "content": ItemContent(vector=[0.1, 0.2]), "suggested_label": "a|b",
        "confidence": 0.6, "labels": LABELS, "probabilities": [0.5625, 0.375, 0.0625],
        "model_version": "m1", "policy_version": "p1", "suggested_labels": ["a", "b"],
        "label_probabilities": PER_LABEL,
    }  # fmt: skip
    return ReviewRequested.model_validate(fields | overrides)


def ml_task(**overrides: Any) -> Any:
    task = new_task(request(), CATALOG)
    fields = {
        "labels": task.labels, "probabilities": task.probabilities,
        "suggested_label": task.suggested_label, "multilabel": True, "dataset": "ml",
        "content": task.content,
    }  # fmt: skip
    return leased_to("ann", **(fields | overrides))


def test_intake_keeps_each_labels_probability() -> None:
    task = new_task(request(), CATALOG)
    assert task.multilabel and task.suggested_label == "a|b"
    assert task.probabilities == (0.9, 0.6, 0.1)
    view = TaskView.of(task)
    assert view.multilabel and view.suggestion is not None
    assert view.suggestion.probabilities == PER_LABEL


def test_intake_refuses_missing_or_inconsistent_label_probabilities() -> None:
    with pytest.raises(Rejected, match="no label_probabilities"):
        new_task(request(label_probabilities=None), CATALOG)
    with pytest.raises(Rejected, match="not the key"):
        new_task(request(suggested_label="a"), CATALOG)
    with pytest.raises(Rejected, match="not in the label set"):
        new_task(request(suggested_labels=["a", "z"], suggested_label="a|z"), CATALOG)


def test_confirm_and_correct_a_label_set() -> None:
    task = ml_task()
    confirmed = decide(task, ANN, Submission(action="confirm"), NOW)
    assert confirmed == Complete("a|b", "annotator", "confirm")
    corrected = decide(task, ANN, Submission(action="correct", labels=["c", "a"]), NOW)
    assert corrected == Complete("a|c", "annotator", "correct")
    empty = decide(task, ANN, Submission(action="correct", labels=[]), NOW)
    assert isinstance(empty, Complete) and empty.label == ""
    same = decide(task, ANN, Submission(action="correct", labels=["b", "a"]), NOW)
    assert isinstance(same, Complete) and same.label_action == "confirm"


def test_bad_label_sets_are_refused_by_name() -> None:
    task = ml_task()
    with pytest.raises(Unprocessable, match=r"labels \['z'\] are not in the label set"):
        decide(task, ANN, Submission(action="correct", labels=["a", "z"]), NOW)
    with pytest.raises(Unprocessable, match="needs 'labels'"):
        decide(task, ANN, Submission(action="correct", label="a"), NOW)
    with pytest.raises(Unprocessable, match="more than once"):
        decide(task, ANN, Submission(action="correct", labels=["a", "a"]), NOW)
    with pytest.raises(Unprocessable, match="nothing to confirm"):
        decide(ml_task(hide_suggestion=True), ANN, Submission(action="confirm"), NOW)


def test_label_event_records_added_and_removed_labels() -> None:
    task = ml_task()
    decision = decide(task, ANN, Submission(action="correct", labels=["a", "c"]), NOW)
    assert isinstance(decision, Complete)
    event = label_event(task, decision, ANN, 1200, NOW)
    assert event.labels == ["a", "c"] and event.suggested_labels == ["a", "b"]
    assert event.is_override
    assert event.labels_added == ["c"] and event.labels_removed == ["b"]
