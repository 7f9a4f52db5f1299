from datetime import UTC, datetime
from pathlib import Path

import pytest
from mitl_ml.errors import ModelLoadError
from mitl_ml.manifest import (
    ModelManifest,
    read_manifest,
    read_verified_files,
    sha256_hex,
    write_bundle,
)
from pydantic import ValidationError


def _manifest(**overrides: object) -> ModelManifest:
    fields: dict[str, object] = {
        "name": "m",
        "version": "m-1",
        "dataset": "trec6",
        "kind": "minilm-logreg",
        "labels": ["A", "B"],
        "input_kind": "text",
        "files": {"head": "head.onnx"},
        "training": {"n_examples": 2, "class_counts": {"A": 1, "B": 1}, "seed": 0},
        "metrics": {"holdout_accuracy": 0.5},
        "outlier": {"method": "none"},
        "created_at": datetime(2024, 1, 1, tzinfo=UTC),
    }
    return ModelManifest.model_validate(fields | overrides)


def test_round_trip(tmp_path: Path) -> None:
    written = write_bundle(tmp_path, _manifest(), {"head.onnx": b"bytes"})
    assert written.sha256 == {"head.onnx": sha256_hex(b"bytes")}
    loaded = read_manifest(tmp_path)
    assert loaded == written
    assert read_verified_files(tmp_path, loaded) == {"head.onnx": b"bytes"}


def test_write_requires_every_named_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"head\.onnx"):
        write_bundle(tmp_path, _manifest(), {"other.onnx": b""})


@pytest.mark.parametrize(
    "overrides",
    [
        {"labels": ["A", "A"]},
        {"kind": "vector-onnx"},  # vector kind with text input
        {"input_kind": "vector", "kind": "vector-onnx"},  # vector without vector_dim
        {"files": {"head": "../head.onnx"}},
        {"files": {"head": "manifest.json"}},
        {"unknown_field": 1},
        {"pooling": ["leading"]},  # the leading state comes after the embedding, never alone
        {"pooling": ["mean", "leading"]},  # only a hybrid head reads it
    ],
)
def test_invalid_manifests(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        _manifest(**overrides)


def test_missing_manifest_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"manifest"):
        read_manifest(tmp_path)


def test_sha_mismatch_names_the_file(tmp_path: Path) -> None:
    manifest = write_bundle(tmp_path, _manifest(), {"head.onnx": b"bytes"})
    (tmp_path / "head.onnx").write_bytes(b"tampered")
    with pytest.raises(ModelLoadError, match=r"head\.onnx.*sha256"):
        read_verified_files(tmp_path, manifest)
