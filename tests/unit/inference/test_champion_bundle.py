"""A catalog bundle becomes a dataset's first champion only if it was built for that dataset;
a dataset whose `model:` names another dataset's bundle is refused by name at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from mitl_inference.champions import check_built_for
from mitl_inference.registration import RegistrationError
from mitl_ml.manifest import MANIFEST_FILE, ModelManifest


def bundle(tmp_path: Path, dataset: str) -> Path:
    manifest = ModelManifest.model_validate(
        {"name": "m", "version": "m-1", "dataset": dataset, "kind": "minilm-logreg",
         "labels": ["A", "B"], "input_kind": "text", "files": {"head": "head.onnx"}}
    )  # fmt: skip
    out = tmp_path / dataset
    out.mkdir()
    (out / MANIFEST_FILE).write_text(manifest.model_dump_json())
    return out


def test_a_bundle_built_for_the_dataset_passes(tmp_path: Path) -> None:
    check_built_for("trec6", bundle(tmp_path, "trec6"))


def test_another_datasets_bundle_is_refused_naming_both(tmp_path: Path) -> None:
    other = bundle(tmp_path, "trec6")
    with pytest.raises(RegistrationError) as refused:
        check_built_for("trec6_copy", other)
    message = str(refused.value)
    assert message.startswith(f"dataset 'trec6_copy': its model {other} is a bundle for ")
    assert "dataset 'trec6'" in message and "leave `model:` out" in message


def test_a_bundle_without_a_manifest_is_refused_naming_the_dataset(tmp_path: Path) -> None:
    with pytest.raises(RegistrationError, match=r"dataset 'trec6': model .*cannot read manifest"):
        check_built_for("trec6", tmp_path)
