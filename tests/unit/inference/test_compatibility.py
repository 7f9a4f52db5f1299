"""A model serves a dataset only with the same name, input kind, vector width and labels."""

from __future__ import annotations

import pytest
from mitl_contracts.datasets import Dataset
from mitl_inference.compatibility import IncompatibleModel, check_fits
from mitl_ml.manifest import ModelManifest

TEXT = Dataset(name="trec6", labels=["A", "B", "C"])
VECTOR = Dataset(name="digits", input_kind="vector", labels=["0", "1"], vector_dim=64)


def manifest(**update: object) -> ModelManifest:
    fields: dict[str, object] = {
        "name": "m",
        "version": "m-1",
        "dataset": "trec6",
        "kind": "tfidf-logreg",
        "labels": ["C", "A", "B"],
        "input_kind": "text",
        "files": {"pipeline": "pipeline.onnx"},
    }
    return ModelManifest.model_validate(fields | update)


def vector_manifest(dim: int) -> ModelManifest:
    return manifest(
        dataset="digits",
        kind="vector-onnx",
        labels=["1", "0"],
        input_kind="vector",
        vector_dim=dim,
        files={"head": "head.onnx"},
    )


def test_fits_with_labels_in_another_order() -> None:
    check_fits(manifest(), TEXT)
    check_fits(vector_manifest(64), VECTOR)


@pytest.mark.parametrize(
    ("model", "dataset", "problem"),
    [
        (manifest(dataset="sms"), TEXT, "trained for dataset 'sms', not 'trec6'"),
        (manifest(labels=["A", "B", "D"]), TEXT, "not the dataset's label set"),
        (manifest(labels=["A", "B"]), TEXT, "not the dataset's label set"),
        (vector_manifest(32), VECTOR, "vectors of 32 values; dataset 'digits' has 64"),
        (vector_manifest(64).model_copy(update={"dataset": "trec6"}), TEXT, "takes vector input"),
    ],
)
def test_mismatch_is_named(model: ModelManifest, dataset: Dataset, problem: str) -> None:
    with pytest.raises(IncompatibleModel, match=problem):
        check_fits(model, dataset)


def test_a_multilabel_dataset_needs_a_one_vs_rest_model() -> None:
    multi = Dataset(name="digits", task="multilabel", input_kind="vector", labels=["0", "1"],
                    vector_dim=64)  # fmt: skip
    with pytest.raises(IncompatibleModel, match="is a single model; dataset 'digits' is multi"):
        check_fits(vector_manifest(64), multi)
    ovr = vector_manifest(64).model_copy(update={"kind": "vector-ovr-onnx"})
    check_fits(ovr, multi)
    with pytest.raises(IncompatibleModel, match="is a multilabel model"):
        check_fits(ovr, VECTOR)


def test_a_span_model_serves_only_a_span_dataset() -> None:
    spans = Dataset(name="trec6", task="spans", labels=["A", "B", "C"])
    ner = manifest(kind="spacy-ner", files={"ner": "ner.json"})
    check_fits(ner, spans)
    with pytest.raises(IncompatibleModel, match="is a spans model; dataset 'trec6' is single"):
        check_fits(ner, TEXT)
    with pytest.raises(IncompatibleModel, match="is a single model; dataset 'trec6' is spans"):
        check_fits(manifest(), spans)


def test_a_multilabel_text_dataset_takes_the_text_one_vs_rest_model() -> None:
    multi = Dataset(name="trec6", task="multilabel", labels=["A", "B", "C"])
    text_ovr = manifest(kind="hybrid-ovr-onnx", files={"features": "f.onnx", "head": "h.onnx"})
    check_fits(text_ovr, multi)
    with pytest.raises(IncompatibleModel, match="is a single model; dataset 'trec6' is multi"):
        check_fits(manifest(), multi)
    with pytest.raises(IncompatibleModel, match="hybrid-ovr-onnx\\) is a multilabel model"):
        check_fits(text_ovr, TEXT)
    with pytest.raises(IncompatibleModel, match="takes text input"):
        check_fits(text_ovr.model_copy(update={"dataset": "digits"}),
                   VECTOR.model_copy(update={"task": "multilabel"}))  # fmt: skip
