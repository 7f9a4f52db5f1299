"""Span (NER) review tasks: intake checks the suggested spans against the dataset and the
text, a person confirms or corrects the full span set, bad span sets are refused by name, and
the label event records the spans, the suggested spans and what was added, removed and
relabelled."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from mitl_contracts.datasets import Catalog
from mitl_contracts.events import ItemContent, ReviewRequested
from mitl_contracts.spans import MAX_SPANS, Span, spans_key
from mitl_review.core.auth import User
from mitl_review.core.errors import Unprocessable
from mitl_review.core.gold import GoldUpload, check_upload, gold_task
from mitl_review.core.intake import Rejected, new_task, new_tasks
from mitl_review.core.labels import label_event
from mitl_review.core.submission import Complete, Replay, Submission, decide
from mitl_review.core.updates import refreshed
from mitl_review.schemas import TaskView

from tests.unit.review.factories import NOW, leased_to

LABELS = ["PER", "LOC", "ORG"]
CATALOG = Catalog.model_validate(
    {"datasets": {
        "ner": {"task": "spans", "labels": LABELS},
        "nested": {"task": "spans", "labels": LABELS, "allow_overlap": True},
    }}
)  # fmt: skip
ANN = User("ann", "annotator")
TEXT = "Ada Lovelace lived in London"
# "Ada Lovelace" PER (0-12), "London" LOC (22-28).
SUGGESTED = [
    Span(start=0, end=12, label="PER", confidence=0.9),
    Span(start=22, end=28, label="ORG", confidence=0.55),
]


def request(**overrides: Any) -> ReviewRequested:
    fields: dict[str, Any] = {
        "event_id": "rr-ner", "dataset": "ner", "item_id": "i1", "decision_event_id": "d1",
        "queue": "annotator", "priority": 0.8, "reason": "span at confidence 0.550",
        "content": ItemContent(text=TEXT), "suggested_label": spans_key(SUGGESTED),
        "confidence": 0.55, "labels": LABELS, "probabilities": [0.6, 0.0, 0.4],
        "model_version": "m1", "policy_version": "p1", "suggested_spans": SUGGESTED,
        "spans_complete": 0.8,
    }  # fmt: skip
    return ReviewRequested.model_validate(fields | overrides)


def span_task(**overrides: Any) -> Any:
    task = new_task(request(), CATALOG)
    fields = {
        "labels": task.labels, "probabilities": task.probabilities,
        "suggested_label": task.suggested_label, "span_task": True, "dataset": "ner",
        "content": task.content, "suggested_spans": task.suggested_spans,
        "spans_complete": task.spans_complete,
    }  # fmt: skip
    return leased_to("ann", **(fields | overrides))


def spans(*triples: tuple[int, int, str]) -> list[dict[str, Any]]:
    return [{"start": s, "end": e, "label": lab} for s, e, lab in triples]


def test_intake_keeps_the_suggested_spans_and_the_view_shows_them() -> None:
    task = new_task(request(), CATALOG)
    assert task.span_task and task.suggested_label == "0:12:PER|22:28:ORG"
    assert task.suggested_spans == tuple(SUGGESTED) and task.spans_complete == 0.8
    assert not task.allow_overlap and not task.multilabel
    view = TaskView.of(task)
    assert view.spans and not view.multilabel and view.labels == LABELS
    assert view.content.text == TEXT
    assert view.suggestion is not None and view.suggestion.spans == SUGGESTED
    assert view.suggestion.spans_complete == 0.8
    assert new_task(request(dataset="nested"), CATALOG).allow_overlap


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"suggested_spans": None}, "needs suggested_spans"),
        ({"suggested_spans": [Span(start=22, end=40, label="LOC", confidence=0.5)],
          "suggested_label": "22:40:LOC"}, "runs outside the text"),
        ({"suggested_spans": [Span(start=0, end=3, label="DATE", confidence=0.5)],
          "suggested_label": "0:3:DATE"}, "'DATE', not one of the dataset's labels"),
        ({"suggested_spans": [Span(start=0, end=12, label="PER", confidence=0.5),
                              Span(start=4, end=12, label="PER", confidence=0.5)],
          "suggested_label": "0:12:PER|4:12:PER"}, "overlap"),
        ({"suggested_spans": [Span(start=0, end=3, label="PER")],
          "suggested_label": "0:3:PER"}, "carries its confidence"),
        ({"suggested_label": "0:12:PER"}, "is not the key of the suggested spans"),
    ],
)  # fmt: skip
def test_intake_refuses_bad_suggested_spans_by_name(overrides: dict[str, Any], reason: str) -> None:
    with pytest.raises(Rejected, match=reason):
        new_task(request(**overrides), CATALOG)


def test_a_single_label_dataset_refuses_a_request_with_spans() -> None:
    catalog = Catalog.model_validate({"datasets": {"ner": {"labels": LABELS}}})
    with pytest.raises(Rejected, match="has spans"):
        new_task(request(suggested_label="PER"), catalog)


def test_overlapping_suggestions_are_kept_where_the_dataset_allows_them() -> None:
    nested = [
        Span(start=0, end=12, label="PER", confidence=0.5),
        Span(start=4, end=12, label="PER", confidence=0.5),
    ]
    task = new_task(
        request(dataset="nested", suggested_spans=nested, suggested_label=spans_key(nested)),
        CATALOG,
    )
    assert len(task.suggested_spans) == 2


def test_confirm_takes_the_suggested_spans_and_correct_the_given_set() -> None:
    task = span_task()
    confirmed = decide(task, ANN, Submission(action="confirm"), NOW)
    assert isinstance(confirmed, Complete) and confirmed.label_action == "confirm"
    assert confirmed.label == "0:12:PER|22:28:ORG"
    assert confirmed.spans is not None
    assert all(s.confidence is None for s in confirmed.spans)
    body = Submission.model_validate(
        {"action": "correct", "spans": spans((22, 28, "LOC"), (0, 12, "PER"))}
    )
    corrected = decide(task, ANN, body, NOW)
    assert isinstance(corrected, Complete) and corrected.label_action == "correct"
    assert corrected.label == "0:12:PER|22:28:LOC"
    none = decide(task, ANN, Submission(action="correct", spans=[]), NOW)
    assert isinstance(none, Complete) and none.label == "" and none.spans == ()
    # The suggested set sent as a correction is a confirmation.
    same = Submission.model_validate(
        {"action": "correct", "spans": spans((22, 28, "ORG"), (0, 12, "PER"))}
    )
    again = decide(task, ANN, same, NOW)
    assert isinstance(again, Complete) and again.label_action == "confirm"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"action": "correct", "spans": spans((22, 29, "LOC"))},
         r"span \[22, 29\) runs outside the text \(28 characters\)"),
        ({"action": "correct", "spans": spans((0, 12, "PER"), (4, 17, "LOC"))},
         "overlap; the dataset does not allow overlapping spans"),
        ({"action": "correct", "spans": spans((0, 3, "DATE"))},
         "has label 'DATE', not one of the dataset's labels"),
        ({"action": "correct", "spans": spans((0, 3, "PER"), (0, 3, "PER"))}, "given twice"),
        ({"action": "correct"}, "'correct' needs 'spans'"),
        ({"action": "correct", "label": "PER"}, "submit 'spans'"),
        ({"action": "confirm", "spans": spans((0, 3, "PER"))}, "'confirm' takes the suggested"),
    ],
)  # fmt: skip
def test_bad_span_sets_are_refused_naming_the_fault(body: dict[str, Any], reason: str) -> None:
    with pytest.raises(Unprocessable, match=reason):
        decide(span_task(), ANN, Submission.model_validate(body), NOW)


def test_overlap_is_accepted_where_the_dataset_allows_it() -> None:
    body = Submission.model_validate(
        {"action": "correct", "spans": spans((0, 12, "PER"), (4, 12, "PER"))}
    )
    decision = decide(span_task(allow_overlap=True), ANN, body, NOW)
    assert isinstance(decision, Complete) and decision.label == "0:12:PER|4:12:PER"


def test_blind_span_tasks_cannot_be_confirmed_and_other_tasks_take_no_spans() -> None:
    with pytest.raises(Unprocessable, match="nothing to confirm"):
        decide(span_task(hide_suggestion=True), ANN, Submission(action="confirm"), NOW)
    with pytest.raises(Unprocessable, match="takes no spans"):
        decide(leased_to("ann"), ANN, Submission(action="correct", label="HUM", spans=[]), NOW)


def test_label_event_carries_the_spans_and_what_changed() -> None:
    task = span_task()
    body = Submission.model_validate(
        {"action": "correct", "spans": spans((0, 12, "PER"), (22, 28, "LOC"), (13, 18, "ORG"))}
    )
    decision = decide(task, ANN, body, NOW)
    assert isinstance(decision, Complete)
    event = label_event(task, decision, ANN, 900, NOW)
    assert event.label == "0:12:PER|13:18:ORG|22:28:LOC" and event.is_override
    assert event.suggested_label == "0:12:PER|22:28:ORG"
    assert event.spans == [
        Span(start=0, end=12, label="PER"),
        Span(start=13, end=18, label="ORG"),
        Span(start=22, end=28, label="LOC"),
    ]
    assert event.suggested_spans == SUGGESTED
    changes = event.span_changes
    assert changes is not None
    assert changes.added == [Span(start=13, end=18, label="ORG")]
    assert changes.relabelled == [Span(start=22, end=28, label="LOC")]
    assert changes.removed == []
    dropped = decide(task, ANN, Submission(action="correct", spans=[]), NOW)
    assert isinstance(dropped, Complete)
    removed = label_event(task, dropped, ANN, None, NOW).span_changes
    assert removed is not None and [s.key for s in removed.removed] == ["0:12:PER", "22:28:ORG"]
    confirmed = decide(task, ANN, Submission(action="confirm"), NOW)
    assert isinstance(confirmed, Complete)
    unchanged = label_event(task, confirmed, ANN, None, NOW)
    assert not unchanged.is_override and unchanged.action == "confirm"
    assert unchanged.span_changes is not None and unchanged.span_changes.empty


def test_the_same_span_submission_again_is_a_replay() -> None:
    from dataclasses import replace

    from mitl_review.core.task import Completion

    task = span_task()
    done = replace(
        task,
        status="done",
        completion=Completion("ann", "annotator", "correct", "0:12:PER", "label-t1", NOW),
    )
    body = Submission.model_validate({"action": "correct", "spans": spans((0, 12, "PER"))})
    assert isinstance(decide(done, ANN, body, NOW), Replay)


def test_whitespace_at_a_span_edge_is_left_out_so_the_same_words_are_the_same_span() -> None:
    task = span_task()
    # "Ada Lovelace " (with the space after it) and " London": the suggested PER span, and LOC.
    body = Submission.model_validate(
        {"action": "correct", "spans": spans((0, 13, "PER"), (21, 28, "LOC"))}
    )
    corrected = decide(task, ANN, body, NOW)
    assert isinstance(corrected, Complete) and corrected.label == "0:12:PER|22:28:LOC"
    event = label_event(task, corrected, ANN, None, NOW)
    assert event.span_changes is not None
    assert [s.key for s in event.span_changes.relabelled] == ["22:28:LOC"]
    assert not event.span_changes.added and not event.span_changes.removed
    # Sent again as it was the first time, it is the same submission: a replay.
    from mitl_review.core.task import Completion

    done = replace(
        task,
        status="done",
        completion=Completion("ann", "annotator", "correct", corrected.label, "label-t1", NOW),
    )
    assert isinstance(decide(done, ANN, body, NOW), Replay)
    blank = Submission.model_validate({"action": "correct", "spans": spans((12, 13, "PER"))})
    with pytest.raises(Unprocessable, match=r"span \[12, 13\) covers only whitespace"):
        decide(task, ANN, blank, NOW)


def test_a_newer_request_updates_the_suggested_spans() -> None:
    first = new_task(request(occurred_at=NOW - timedelta(minutes=1)), CATALOG)
    newer_spans = [Span(start=22, end=28, label="LOC", confidence=0.7)]
    later = request(
        event_id="rr-ner-2",
        suggested_spans=newer_spans,
        suggested_label=spans_key(newer_spans),
        spans_complete=0.6,
        occurred_at=NOW,
    )
    updated = refreshed(first, new_task(later, CATALOG))
    assert updated is not None and updated.suggested_spans == tuple(newer_spans)
    assert updated.spans_complete == 0.6 and updated.revision == 2


def test_gold_items_of_a_span_dataset_carry_span_keys() -> None:
    dataset = CATALOG.get("ner")
    good = GoldUpload.model_validate(
        {"items": [{"external_id": "g1", "text": TEXT, "label": "0:12:PER|22:28:LOC"}]}
    )
    item = check_upload(dataset, good)[0]
    task = gold_task(item, "ann", "annotator", tuple(LABELS), NOW, span_task=True)
    assert task.span_task and task.hide_suggestion and TaskView.of(task).spans
    for label, reason in [
        ("0:40:PER", "runs outside the text"),
        ("0:12:DATE", "not one of the dataset's labels"),
        ("22:28:LOC|0:12:PER", "not in order"),
        ("0:13:PER", "whitespace at a span's edge; write it as '0:12:PER'"),
        ("12:13:PER", r"span \[12, 13\) covers only whitespace"),
        ("PER", "is not a span"),
    ]:
        bad = GoldUpload.model_validate(
            {"items": [{"external_id": "g1", "text": TEXT, "label": label}]}
        )
        with pytest.raises(Unprocessable, match=reason):
            check_upload(dataset, bad)


def test_a_span_gold_item_may_have_no_entity() -> None:
    dataset = CATALOG.get("ner")
    upload = GoldUpload.model_validate(
        {"items": [{"external_id": "g0", "text": "nothing to see here", "label": ""}]}
    )
    item = check_upload(dataset, upload)[0]
    assert item.label == ""
    task = gold_task(item, "ann", "annotator", tuple(LABELS), NOW, span_task=True)
    leased = replace(task, lease_holder="ann", lease_expires_at=NOW + timedelta(minutes=1))
    # Marking nothing gives the gold key; marking a span does not.
    nothing = decide(leased, ANN, Submission(action="correct", spans=[]), NOW)
    assert isinstance(nothing, Complete) and nothing.label == item.label
    marked = Submission(action="correct", spans=[Span(start=0, end=7, label="ORG")])
    something = decide(leased, ANN, marked, NOW)
    assert isinstance(something, Complete) and something.label != item.label
    # '' is "no entity" only where labels are span sets.
    with pytest.raises(Unprocessable, match="label '' is not in the label set"):
        check_upload(
            Catalog.model_validate({"datasets": {"t": {"labels": LABELS}}}).get("t"),
            GoldUpload.model_validate({"items": [{"external_id": "g0", "text": "x", "label": ""}]}),
        )


def test_a_span_gold_label_may_name_as_many_spans_as_a_task_takes() -> None:
    text = "a " * MAX_SPANS
    spans = [Span(start=2 * i, end=2 * i + 1, label="ORG") for i in range(MAX_SPANS)]
    upload = GoldUpload.model_validate(
        {"items": [{"external_id": "g0", "text": text, "label": spans_key(spans)}]}
    )
    assert check_upload(CATALOG.get("ner"), upload)[0].label == spans_key(spans)


def test_an_overlap_item_of_a_span_dataset_is_one_span_task_per_annotator() -> None:
    catalog = Catalog.model_validate(
        {"datasets": {"ner": {"task": "spans", "labels": LABELS,
                              "policy": {"overlap_rate": 1.0, "overlap_annotators": 3}}}}
    )  # fmt: skip
    copies = new_tasks(request(), catalog)
    assert len(copies) == 3 and len({c.task_id for c in copies}) == 3
    assert all(c.span_task and c.suggested_spans == tuple(SUGGESTED) for c in copies)
    assert {c.overlap_group for c in copies} == {copies[0].task_id}
