"""Span (NER) contract fields: additive, validated, and named in every refusal."""

from __future__ import annotations

import pytest
from mitl_contracts.datasets import Dataset
from mitl_contracts.events import (
    ClientPrediction,
    ItemContent,
    Label,
    Prediction,
    span_distribution,
)
from mitl_contracts.spans import (
    Span,
    check_spans,
    least_confidence,
    span_diff,
    spans_key,
    spans_of_key,
    trimmed,
)
from pydantic import ValidationError

TEXT = "Obama visited Paris in May"
LABELS = ["PER", "LOC", "DATE"]


def span(start: int, end: int, label: str, confidence: float | None = None) -> Span:
    return Span(start=start, end=end, label=label, confidence=confidence)


def prediction(spans: list[Span], complete: float | None = 0.9) -> Prediction:
    return Prediction(
        dataset="d", item_id="i", content=ItemContent(text=TEXT), model_version="m",
        labels=LABELS, probabilities=[0.4, 0.4, 0.2], spans=spans, spans_complete=complete,
    )  # fmt: skip


def test_span_itself_is_checked() -> None:
    with pytest.raises(ValidationError, match="empty or reversed"):
        span(5, 5, "PER")
    with pytest.raises(ValidationError, match="not within"):
        span(0, 5, "PER", 1.5)
    with pytest.raises(ValidationError, match="may not contain"):
        span(0, 5, "P:ER")


def test_key_is_order_and_confidence_free() -> None:
    a = [span(14, 19, "LOC", 0.8), span(0, 5, "PER", 0.99)]
    b = [span(0, 5, "PER"), span(14, 19, "LOC")]
    assert spans_key(a) == spans_key(b) == "0:5:PER|14:19:LOC"
    assert spans_key([]) == ""


def test_check_spans_names_each_fault() -> None:
    with pytest.raises(ValueError, match="outside the text"):
        check_spans([span(20, 40, "LOC")], text_length=len(TEXT))
    with pytest.raises(ValueError, match="'ORG', not one of"):
        check_spans([span(0, 5, "ORG")], labels=LABELS)
    with pytest.raises(ValueError, match="overlap"):
        check_spans([span(0, 5, "PER"), span(3, 9, "LOC")])
    check_spans([span(0, 5, "PER"), span(3, 9, "LOC")], allow_overlap=True)
    with pytest.raises(ValueError, match="given twice"):
        check_spans([span(0, 5, "PER"), span(0, 5, "PER")], allow_overlap=True)
    # a long span containing two short ones overlaps the second too
    with pytest.raises(ValueError, match="overlap"):
        check_spans([span(0, 20, "PER"), span(2, 4, "LOC"), span(6, 8, "LOC")][::2])


def test_span_prediction_is_validated() -> None:
    p = prediction([span(0, 5, "PER", 0.97), span(14, 19, "LOC", 0.8)])
    assert p.task == "spans"
    with pytest.raises(ValidationError, match="both 'spans' and 'spans_complete'"):
        prediction([span(0, 5, "PER", 0.9)], complete=None)
    with pytest.raises(ValidationError, match="carries its confidence"):
        prediction([span(0, 5, "PER")])
    with pytest.raises(ValidationError, match="outside the text"):
        prediction([span(0, 50, "PER", 0.9)])
    assert least_confidence(p.spans or [], p.spans_complete) == 0.8
    assert least_confidence([], None) == 1.0


def test_dataset_checks_span_predictions() -> None:
    ds = Dataset(name="d", task="spans", labels=LABELS, entity_map={"GPE": "LOC"})
    ds.check_prediction(prediction([span(0, 5, "PER", 0.9)]))
    with pytest.raises(ValueError, match="does not allow overlapping"):
        ds.check_prediction(prediction([span(0, 5, "PER", 0.9), span(2, 9, "LOC", 0.9)]))
    single = Dataset(name="s", labels=LABELS)
    with pytest.raises(ValueError, match="the prediction has spans"):
        single.check_prediction(prediction([]))
    with pytest.raises(ValidationError, match="takes text items"):
        Dataset(name="d", task="spans", input_kind="vector", vector_dim=3, labels=LABELS)
    with pytest.raises(ValidationError, match="entity_map maps to label"):
        Dataset(name="d", task="spans", labels=LABELS, entity_map={"ORG": "ORG"})


def test_label_records_the_span_changes() -> None:
    suggested = [span(0, 5, "PER", 0.9), span(14, 19, "PER", 0.6)]
    final = [span(0, 5, "PER"), span(14, 19, "LOC"), span(23, 26, "DATE")]
    label = Label(
        dataset="d", item_id="i", label=spans_key(final), source="annotator", action="correct",
        suggested_label=spans_key(suggested), model_version="m",
        spans=final, suggested_spans=suggested,
    )  # fmt: skip
    assert label.is_override
    changes = label.span_changes
    assert changes is not None
    assert [s.key for s in changes.added] == ["23:26:DATE"]
    assert [s.key for s in changes.relabelled] == ["14:19:LOC"] and changes.removed == []
    assert span_diff(final, final).empty
    with pytest.raises(ValidationError, match="is not the span set"):
        Label(dataset="d", item_id="i", label="x", source="annotator", action="correct",
              model_version="m", spans=final)  # fmt: skip


def test_a_span_set_key_reads_back_into_its_spans() -> None:
    spans = [Span(start=0, end=5, label="PER"), Span(start=10, end=16, label="geo-loc")]
    assert spans_of_key(spans_key(spans)) == spans
    assert spans_of_key("") == []
    for bad, reason in [("0:5", "not a span"), ("a:5:x", "start:end:label"), ("5:1:x", "reversed")]:
        with pytest.raises(ValueError, match=reason):
            spans_of_key(bad)


def test_a_client_prediction_may_carry_spans_instead_of_probabilities() -> None:
    found = [span(14, 19, "LOC", 0.9), span(0, 5, "PER", 0.6)]
    client = ClientPrediction(model_id="crm", labels=LABELS, spans=found, spans_complete=0.8)
    # Probabilities derived as a span model's: each label's best span, scaled to sum to 1.
    assert client.distribution(["DATE", "LOC", "PER"]) == pytest.approx([0.0, 0.6, 0.4])
    assert span_distribution([], LABELS) == pytest.approx([1 / 3] * 3)
    # An old client prediction is still valid and reads the same.
    old = ClientPrediction.model_validate(
        {"model_id": "crm", "labels": ["a", "b"], "probabilities": [0.3, 0.7]}
    )
    assert old.spans is None and old.distribution(["b", "a"]) == [0.7, 0.3]
    for fields, reason in [
        ({"spans": found}, "both 'spans' and 'spans_complete'"),
        ({"spans_complete": 0.5}, "both 'spans' and 'spans_complete'"),
        ({"spans": [span(0, 5, "PER")], "spans_complete": 0.5}, "carries its confidence"),
        ({"spans": [span(0, 5, "ORG", 0.5)], "spans_complete": 0.5}, "not one of"),
        (
            {"spans": found, "spans_complete": 0.5, "probabilities": [0.4, 0.4, 0.2]},
            "probabilities come from its spans",
        ),
        ({"spans": found, "spans_complete": 1.5}, "less than or equal to 1"),
        ({}, "carries 'probabilities'"),
    ]:
        with pytest.raises(ValidationError, match=reason):
            ClientPrediction.model_validate({"model_id": "crm", "labels": LABELS, **fields})


def test_span_fault_names_what_is_wrong_or_nothing() -> None:
    from dataclasses import dataclass

    from mitl_contracts.spans import span_fault

    @dataclass
    class Rules:
        labels: tuple[str, ...] = ("PER", "LOC")
        allow_overlap: bool = False

    text = "Ada met Alan in London"
    assert span_fault([Span(start=0, end=3, label="PER")], text, Rules()) is None
    past_end = span_fault([Span(start=17, end=40, label="LOC")], text, Rules())
    assert past_end is not None and "22" in past_end
    # No text: offsets are not held to a length, the labels still are.
    assert span_fault([Span(start=17, end=40, label="LOC")], None, Rules()) is None
    unknown = span_fault([Span(start=0, end=3, label="ORG")], text, Rules())
    assert unknown is not None and "ORG" in unknown
    overlapping = [Span(start=0, end=7, label="PER"), Span(start=4, end=11, label="PER")]
    assert span_fault(overlapping, text, Rules()) is not None
    assert span_fault(overlapping, text, Rules(allow_overlap=True)) is None


def test_trimmed_leaves_whitespace_out_of_span_edges_and_nothing_else() -> None:
    text = " Obama\tvisited  Paris\n"
    given = [
        Span(start=0, end=7, label="PER", confidence=0.8),  # " Obama\t"
        Span(start=15, end=22, label="LOC"),  # " Paris\n"
        Span(start=7, end=14, label="LOC"),  # "visited": as it is
        Span(start=20, end=40, label="LOC"),  # outside the text: left for check_spans
    ]
    out = trimmed(given, text)
    assert [s.key for s in out] == ["1:6:PER", "16:21:LOC", "7:14:LOC", "20:40:LOC"]
    assert out[0].confidence == 0.8 and out[2] is given[2]
    assert [text[s.start : s.end] for s in out[:3]] == ["Obama", "Paris", "visited"]
    with pytest.raises(ValueError, match=r"span \[14, 16\) covers only whitespace"):
        trimmed([Span(start=14, end=16, label="LOC")], text)
