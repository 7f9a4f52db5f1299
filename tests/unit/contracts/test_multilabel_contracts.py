"""Multi-label contract fields: additive, validated, and named in every refusal."""

from __future__ import annotations

import pytest
from mitl_contracts.datasets import Dataset
from mitl_contracts.events import ItemContent, Label, Prediction, distribution_of
from pydantic import ValidationError

LABELS = ["a", "b", "c"]


def prediction(per_label: dict[str, float] | None, labels: list[str] = LABELS) -> Prediction:
    probabilities = distribution_of([(per_label or {}).get(x, 0.5) for x in labels])
    return Prediction(
        dataset="d", item_id="i", content=ItemContent(vector=[1.0]), model_version="m",
        labels=labels, probabilities=probabilities, label_probabilities=per_label,
    )  # fmt: skip


def test_single_label_events_are_unchanged() -> None:
    single = Prediction(
        dataset="d", item_id="i", content=ItemContent(text="t"), model_version="m",
        labels=["x", "y"], probabilities=[0.3, 0.7],
    )  # fmt: skip
    assert single.task == "single" and single.label_probabilities is None
    assert Dataset(name="d", labels=["x", "y"]).task == "single"
    label = Label(dataset="d", item_id="i", label="x", source="annotator", action="correct",
                  suggested_label="y", model_version="m")  # fmt: skip
    assert label.is_override and label.labels_added == [] and label.labels_removed == []


def test_multilabel_prediction_needs_every_label() -> None:
    assert prediction({"a": 0.9, "b": 0.1, "c": 0.7}).task == "multilabel"
    with pytest.raises(ValidationError, match=r"no probability for label.*c"):
        prediction({"a": 0.9, "b": 0.1})
    with pytest.raises(ValidationError, match=r"unknown label.*z"):
        prediction({"a": 0.9, "b": 0.1, "c": 0.2, "z": 0.3})
    with pytest.raises(ValidationError, match="within \\[0, 1\\]: b"):
        prediction({"a": 0.9, "b": 1.5, "c": 0.2})


def test_dataset_checks_prediction_against_its_task() -> None:
    multi = Dataset(name="m", task="multilabel", input_kind="vector", vector_dim=1,
                    labels=["a", "b", "c", "d"])  # fmt: skip
    with pytest.raises(ValueError, match=r"no probability for label.*d"):
        multi.check_prediction(prediction({"a": 0.9, "b": 0.1, "c": 0.7}))
    single = Dataset(name="s", labels=LABELS)
    with pytest.raises(ValueError, match="single-label"):
        single.check_prediction(prediction({"a": 0.9, "b": 0.1, "c": 0.7}))
    bare = Prediction(dataset="m", item_id="i", content=ItemContent(vector=[1.0]),
                      model_version="m", labels=LABELS, probabilities=[0.2, 0.3, 0.5])  # fmt: skip
    with pytest.raises(ValueError, match="no label_probabilities"):
        Dataset(name="m", task="multilabel", labels=LABELS).check_prediction(bare)


def test_multilabel_labels_may_not_hold_the_separator() -> None:
    with pytest.raises(ValidationError, match="may not contain"):
        Dataset(name="m", task="multilabel", labels=["a|b", "c"])


def test_label_set_override_records_added_and_removed() -> None:
    label = Label(
        dataset="d", item_id="i", label="a|c", labels=["c", "a"], source="annotator",
        action="correct", suggested_label="a|b", suggested_labels=["a", "b"], model_version="m",
    )  # fmt: skip
    assert label.is_override
    assert label.labels_added == ["c"] and label.labels_removed == ["b"]
    with pytest.raises(ValidationError, match="is not the label set"):
        Label(dataset="d", item_id="i", label="a", labels=["a", "b"], source="annotator",
              action="correct", model_version="m")  # fmt: skip
    with pytest.raises(ValidationError, match="more than once"):
        Label(dataset="d", item_id="i", label="a", labels=["a", "a"], source="annotator",
              action="correct", model_version="m")  # fmt: skip
