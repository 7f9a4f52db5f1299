"""What `mitl models list` shows of a version: status, labels, preprocessing, metrics."""

from __future__ import annotations

from datetime import UTC, datetime

from mitl_inference.store.registry import ModelRecord, preprocessing
from mitl_ml.manifest import ModelManifest


def manifest(kind: str, **extra: object) -> ModelManifest:
    fields: dict[str, object] = {
        "name": "m",
        "version": "m-1",
        "dataset": "trec6",
        "kind": kind,
        "labels": ["A", "B"],
        "input_kind": "vector" if kind == "vector-onnx" else "text",
        "files": {"head": "head.onnx"},
        "training": {"n_examples": 300, "encoder": "all-MiniLM-L6-v2-int8"},
        "metrics": {"holdout_accuracy": 0.73},
    }
    return ModelManifest.model_validate(fields | extra)


def test_preprocessing_by_kind() -> None:
    assert preprocessing(manifest("minilm-logreg"))["max_tokens"] == 128
    assert "tokenizer" in preprocessing(manifest("tfidf-logreg"))
    assert preprocessing(manifest("vector-onnx", vector_dim=64)) == {"vector_dim": 64}
    text_ovr = manifest("hybrid-ovr-onnx", training={"word_ngrams": [1, 2], "char_ngrams": [2, 4]})
    steps = preprocessing(text_ovr)
    assert steps["max_tokens"] == 128 and steps["tfidf_char_ngrams"] == [2, 4]


def test_summary() -> None:
    now = datetime(2026, 11, 28, tzinfo=UTC)
    record = ModelRecord(
        "trec6",
        "m-1",
        "minilm-logreg",
        "champion",
        "ab" * 32,
        "file:///x",
        manifest("minilm-logreg"),
        now,
        now,
        None,
    )
    summary = record.summary()
    assert summary["status"] == "champion" and summary["labels"] == ["A", "B"]
    assert summary["holdout_accuracy"] == 0.73 and summary["training_examples"] == 300
    assert summary["promoted_at"] == now.isoformat() and summary["retired_at"] is None


def test_the_listing_table_fits_its_widest_cells() -> None:
    from mitl_inference.cli import table_lines

    rows = [
        {"dataset": "digits", "version": "d-1", "kind": "pixels-logreg", "status": "champion",
         "artifact_sha256": "6d97778495b7aa", "holdout_accuracy": 0.925, "holdout_ece": None},
        {"dataset": "trec6", "version": "trec6-minilm-int8-bootstrap-s0",
         "kind": "minilm-int8-logreg", "status": "candidate", "artifact_sha256": "b6e4e498907a11",
         "holdout_accuracy": None, "holdout_ece": 0.01234},
    ]  # fmt: skip
    header, first, second = table_lines(rows)
    assert header.split() == ["dataset", "version", "kind", "status", "sha256", "accuracy", "ECE"]
    assert second.split() == [
        "trec6", "trec6-minilm-int8-bootstrap-s0", "minilm-int8-logreg", "candidate",
        "b6e4e498907a", "-", "0.0123",
    ]  # fmt: skip
    assert first.split()[-2:] == ["0.925", "-"]
    # Every column starts where its header does, however long a cell above or below it.
    for name, cell in (("kind", "minilm-int8-logreg"), ("status", "candidate"), ("ECE", "0.0123")):
        assert second.index(cell) == header.index(name)
    assert first.index("pixels-logreg") == header.index("kind")
