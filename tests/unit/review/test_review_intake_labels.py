"""From a review request to a task, and from a completed task to its label event."""

from __future__ import annotations

import pytest
from mitl_contracts.datasets import Catalog, UnknownDataset
from mitl_review.core.auth import User
from mitl_review.core.intake import (
    Rejected,
    copy_task_id,
    new_task,
    new_tasks,
    overlap_copies,
    task_id_for,
)
from mitl_review.core.labels import label_event, label_event_id
from mitl_review.core.submission import Complete
from mitl_review.schemas import TaskView

from tests.unit.review.factories import CATALOG, LABELS, NOW, make_task, review_requested


def test_a_request_becomes_an_open_task_with_a_stable_id() -> None:
    event = review_requested()
    task = new_task(event, CATALOG)
    assert task == new_task(event, CATALOG)
    assert task.task_id == task_id_for("rr-1") != task_id_for("rr-2")
    assert (task.status, task.queue, task.lease_holder) == ("open", "annotator", None)
    assert task.requested_at == event.occurred_at and task.priority == 0.7


def test_labels_are_kept_in_the_dataset_order() -> None:
    shuffled = list(reversed(LABELS))
    probabilities = [0.6 if label == "HUM" else 0.08 for label in shuffled]
    task = new_task(review_requested(labels=shuffled, probabilities=probabilities), CATALOG)
    assert task.labels == LABELS
    assert dict(zip(task.labels, task.probabilities, strict=True))["HUM"] == 0.6


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"labels": ["A", "B"], "probabilities": [0.5, 0.5]}, "not the label set"),
        ({"suggested_label": "PERSON"}, "suggested label 'PERSON'"),
        ({"probabilities": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]}, "not a distribution"),
        ({"probabilities": [0.5, 0.5]}, "not a distribution"),
        ({"confidence": 1.5}, "confidence"),
        ({"priority": float("inf")}, "priority"),
    ],
)
def test_requests_that_cannot_be_labeled_are_rejected(overrides: dict, problem: str) -> None:
    with pytest.raises(Rejected, match=problem):
        new_task(review_requested(**overrides), CATALOG)


def test_unknown_dataset() -> None:
    with pytest.raises(UnknownDataset, match="unknown dataset 'other'"):
        new_task(review_requested(dataset="other"), CATALOG)


def test_label_event_carries_the_decision_and_its_provenance() -> None:
    task = make_task(hide_suggestion=True)
    decision = Complete(label="LOC", source="annotator", label_action="correct")
    event = label_event(task, decision, User("ann", "annotator"), 1234, NOW)
    assert event.event_id == label_event_id("t1") == "label-t1"
    assert (event.dataset, event.item_id, event.batch_id) == ("trec6", "item-1", "b1")
    assert (event.label, event.source, event.action) == ("LOC", "annotator", "correct")
    assert (event.annotator, event.role, event.suggested_label) == ("ann", "annotator", "HUM")
    assert event.suggestion_shown is False and event.time_spent_ms == 1234
    assert (event.model_version, event.policy_version) == ("m-1", "p-1")
    assert event.review_event_id == "rr-1" and event.occurred_at == NOW
    assert event.is_override and event.guideline_version is None
    # The event is the same however often it is built: a replay re-publishes identical bytes.
    assert event == label_event(task, decision, User("ann", "annotator"), 1234, NOW)


def test_label_event_names_the_guideline_version_it_was_made_under() -> None:
    decision = Complete(label="LOC", source="annotator", label_action="correct")
    event = label_event(make_task(), decision, User("ann", "annotator"), 10, NOW, 3)
    assert event.guideline_version == 3
    assert '"guideline_version":3' in event.model_dump_json()


def test_expert_resolution_label_event() -> None:
    decision = Complete(label="HUM", source="expert", label_action="resolve")
    event = label_event(make_task(queue="expert"), decision, User("eve", "expert"), None, NOW)
    assert (event.source, event.action, event.role) == ("expert", "resolve", "expert")
    assert event.suggestion_shown and not event.is_override


def test_task_view_hides_the_suggestion_of_blind_tasks() -> None:
    view = TaskView.of(make_task())
    assert view.suggestion is not None and view.suggestion.label == "HUM"
    assert view.suggestion.probabilities["HUM"] == 0.6
    assert TaskView.of(make_task(hide_suggestion=True)).suggestion is None
    escalated = TaskView.of(make_task(escalated_by="ann", escalation_comment="ambiguous"))
    assert escalated.escalation is not None and escalated.escalation.comment == "ambiguous"


def test_an_overlap_item_becomes_one_task_per_annotator() -> None:
    catalog = Catalog.model_validate(
        {
            "datasets": {
                "trec6": {
                    "labels": list(LABELS),
                    "policy": {"overlap_rate": 1.0, "overlap_annotators": 3},
                }
            }
        }
    )
    event = review_requested()
    copies = new_tasks(event, catalog)
    assert new_tasks(event, catalog) == copies
    assert [t.overlap_copy for t in copies] == [0, 1, 2]
    first = task_id_for("rr-1")
    assert copies[0].task_id == first and {t.overlap_group for t in copies} == {first}
    assert len({t.task_id for t in copies}) == 3
    assert copies[1].task_id == copy_task_id(first, 1)
    # The copies are the same request: same item, content, suggestion and place in the queue.
    assert all(
        (t.item_id, t.content, t.suggested_label, t.priority, t.requested_at)
        == (copies[0].item_id, copies[0].content, "HUM", 0.7, event.occurred_at)
        for t in copies
    )
    # Expert work and datasets without overlap: one task, not in a group.
    (expert,) = new_tasks(review_requested(queue="expert"), catalog)
    (plain,) = new_tasks(event, CATALOG)
    assert expert.overlap_group is None and plain == new_task(event, CATALOG)
    assert overlap_copies(plain, 1) == [plain]
