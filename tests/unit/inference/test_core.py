"""Inference's pure core: predictions carry the full distribution in the dataset's label
order, the exact model version and the outlier score; ids are per item and version."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from mitl_contracts.datasets import Catalog, Dataset
from mitl_contracts.events import ItemContent, ItemIngested
from mitl_contracts.spans import Span
from mitl_inference import core

LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
CATALOG = Catalog(
    datasets={
        "trec6": Dataset(name="trec6", labels=LABELS, max_text_chars=50),
        "digits": Dataset(name="digits", input_kind="vector", labels=["a", "b"], vector_dim=3),
    }
)


@dataclass
class Output:
    probabilities: np.ndarray
    outlier_scores: np.ndarray
    truncated: list[bool]
    embeddings: np.ndarray | None = None
    spans: list[list[Span]] | None = None
    spans_complete: list[float] | None = None


def predictions(items, output, model_version, labels, dataset_labels=None, *, multilabel=False):
    """`core.checked_predictions`, failing on the first item whose output makes no valid
    prediction (a ValueError naming it)."""
    made, misfits = core.checked_predictions(
        items, output, model_version, labels, dataset_labels, multilabel=multilabel
    )
    if misfits:
        raise ValueError(f"item {items[misfits[0].index].item_id}: {misfits[0].reason}")
    return made


def item(i: int, text: str | None = "What is it ?", vector: list[float] | None = None):
    return ItemIngested(
        event_id=f"ing-{i}",
        dataset="digits" if vector is not None else "trec6",
        item_id=f"item-{i}",
        external_id=f"x{i}",
        batch_id="b1",
        content=ItemContent(text=None if vector is not None else text, vector=vector),
    )


def test_predictions_reorder_columns_to_the_dataset_label_order() -> None:
    model_labels = ["NUM", "LOC", "HUM", "ENTY", "DESC", "ABBR"]
    probs = np.array([[0.5, 0.1, 0.1, 0.1, 0.1, 0.1]], dtype=np.float32)
    out = Output(probs, np.array([1.5]), [True])
    [prediction] = predictions([item(1)], out, "v2", model_labels, LABELS)
    assert prediction.labels == LABELS
    assert prediction.top == ("NUM", pytest.approx(0.5))
    assert sum(prediction.probabilities) == pytest.approx(1.0, abs=1e-12)
    assert prediction.model_version == "v2" and prediction.source == "platform"
    assert prediction.outlier_score == 1.5 and prediction.truncated is True
    assert prediction.event_id == "prediction-item-1-v2" == core.prediction_id("item-1", "v2")
    assert prediction.batch_id == "b1" and prediction.content.text == "What is it ?"


def test_predictions_renormalise_float32_rows_and_keep_input_order() -> None:
    probs = np.array([[0.3, 0.7000001], [0.9, 0.1]], dtype=np.float32)
    items = [item(1, vector=[1, 2, 3]), item(2, vector=[3, 2, 1])]
    out = predictions(items, Output(probs, np.zeros(2), [False, False]), "m", ["a", "b"])
    assert [p.item_id for p in out] == ["item-1", "item-2"]
    assert all(sum(p.probabilities) == pytest.approx(1.0, abs=1e-12) for p in out)
    assert out[1].top == ("a", pytest.approx(0.9))


def test_same_item_and_version_give_the_same_prediction_id() -> None:
    out = Output(np.full((1, 6), 1 / 6), np.zeros(1), [False])
    first = predictions([item(7)], out, "v1", LABELS)
    again = predictions([item(7)], out, "v1", LABELS)
    other = predictions([item(7)], out, "v2", LABELS)
    assert first[0].model_dump(exclude={"occurred_at"}) == again[0].model_dump(
        exclude={"occurred_at"}
    )
    assert first[0].event_id != other[0].event_id


def test_models_with_an_embedding_sketch_it() -> None:
    embeddings = np.random.default_rng(0).normal(size=(2, 384)).astype(np.float32)
    out = Output(np.full((2, 6), 1 / 6), np.zeros(2), [False, False], embeddings)
    first, second = predictions([item(1), item(2)], out, "v1", LABELS)
    assert first.embedding_sketch is not None and len(first.embedding_sketch) == 16
    assert first.embedding_sketch != second.embedding_sketch
    plain = predictions(
        [item(1)], Output(np.full((1, 6), 1 / 6), np.zeros(1), [False]), "v", LABELS
    )
    assert plain[0].embedding_sketch is None


@pytest.mark.parametrize(
    ("model_labels", "problem"),
    [(["ABBR", "DESC"], "not the dataset's label set"), ([*LABELS[:5], "ABBR"], "not the")],
)
def test_column_order_refuses_another_label_set(model_labels: list[str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        core.column_order(model_labels, LABELS)


def test_model_inputs_by_kind() -> None:
    assert core.model_inputs([item(1, "a b"), item(2, "c")]) == ["a b", "c"]
    vectors = core.model_inputs([item(1, vector=[1, 2, 3])])
    assert isinstance(vectors, np.ndarray) and vectors.dtype == np.float32
    assert vectors.shape == (1, 3)


def test_unscorable_names_the_problem() -> None:
    served = {"trec6", "digits"}
    assert core.unscorable(item(1), CATALOG, served) is None
    assert "has no model" in str(core.unscorable(item(1), CATALOG, {"digits"}))
    too_long = item(2, "x" * 51)
    assert "allows 50" in str(core.unscorable(too_long, CATALOG, served))
    short_vector = item(3, vector=[1.0, 2.0])
    assert "vector has 2 values" in str(core.unscorable(short_vector, CATALOG, served))
    unknown = item(4).model_copy(update={"dataset": "nope"})
    assert "unknown dataset 'nope'" in str(core.unscorable(unknown, CATALOG, served))


def test_multilabel_predictions_carry_each_labels_probability() -> None:
    probs = np.array([[0.9, 0.8], [0.1, 0.0]], dtype=np.float32)
    out = Output(probs, np.array([0.0, 0.0]), [False, False])
    items = [item(1, vector=[1.0, 2.0, 3.0]), item(2, vector=[0.0, 0.0, 0.0])]
    first, second = predictions(items, out, "v1", ["b", "a"], ["a", "b"], multilabel=True)
    assert first.task == "multilabel"
    assert first.label_probabilities == {"a": pytest.approx(0.8), "b": pytest.approx(0.9)}
    assert sum(first.probabilities) == pytest.approx(1.0)
    assert second.label_probabilities == {"a": 0.0, "b": pytest.approx(0.1)}


NER = Dataset(name="ner", task="spans", labels=["person", "place"])


def span_item(i: int, text: str) -> ItemIngested:
    return item(i, text).model_copy(update={"dataset": "ner"})


def test_span_predictions_carry_spans_and_complete_and_misfits_are_named() -> None:
    text = "Ada met Bob in Rome"
    good = [Span(start=0, end=3, label="person", confidence=0.9)]
    outside = [Span(start=15, end=40, label="place", confidence=0.8)]
    unknown = [Span(start=0, end=3, label="company", confidence=0.8)]
    overlapping = [
        Span(start=0, end=3, label="person", confidence=0.9),
        Span(start=2, end=6, label="place", confidence=0.5),
    ]
    found = [good, outside, unknown, overlapping]
    out = Output(
        np.full((4, 2), 0.5), np.zeros(4), [False] * 4, spans=found, spans_complete=[0.7] * 4
    )
    items = [span_item(i, text) for i in range(4)]
    made, misfits = core.checked_predictions(
        items, out, "v1", ["person", "place"], ["person", "place"], dataset=NER
    )
    [prediction] = made
    assert prediction.task == "spans" and prediction.item_id == "item-0"
    assert prediction.spans == good and prediction.spans_complete == 0.7
    reasons = {items[m.index].item_id: m.reason for m in misfits}
    assert "runs outside the text" in reasons["item-1"]
    assert "'company'" in reasons["item-2"]
    assert "overlap" in reasons["item-3"]
    assert all(r.startswith("model v1 output: ") for r in reasons.values())
    with pytest.raises(ValueError, match=r"item-1: model v1 output: .*outside the text"):
        predictions(items[:2], out, "v1", ["person", "place"])
