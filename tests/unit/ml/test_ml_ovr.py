"""The one-vs-rest head: trained on Yeast label sets, exported to ONNX, served by load_model
with one independent probability per label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mitl_ml.manifest import write_bundle
from mitl_ml.multilabel_data import load_yeast
from mitl_ml.ovr import OVR_KIND, label_matrix, train_vector_ovr
from mitl_ml.runtime import load_model

IDENTITY = {"name": "yeast-ovr", "version": "yeast-ovr-1", "dataset": "yeast"}


def test_ovr_bundle_serves_per_label_probabilities(tmp_path: Path) -> None:
    data = load_yeast()
    sets = data.label_sets()
    train, held = slice(0, 1800), slice(1800, None)
    manifest, files = train_vector_ovr(
        data.x[train], sets[train], list(data.labels), seed=0,
        holdout=(data.x[held], ["|".join(s) for s in sets[held]]), **IDENTITY,
    )  # fmt: skip
    assert manifest.kind == OVR_KIND and manifest.training["task"] == "multilabel"
    assert manifest.training["export_max_abs_diff"] < 1e-4
    assert manifest.metrics["holdout_label_decision_accuracy"] > 0.75
    assert "holdout_accuracy.Class1" in manifest.metrics
    write_bundle(tmp_path, manifest, files)
    model = load_model(tmp_path)
    assert model.multilabel
    probs = model.predict(data.x[held][:50]).probabilities
    assert probs.shape == (50, 14)
    assert np.all((probs >= 0) & (probs <= 1))
    assert not np.allclose(probs.sum(axis=1), 1.0)  # independent, not a distribution
    again = train_vector_ovr(data.x[train], sets[train], list(data.labels), seed=0, **IDENTITY)
    assert again[1] == files  # deterministic


def test_ovr_refuses_a_label_without_both_classes() -> None:
    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    sets = [["a"] if i % 2 else ["a", "b"] for i in range(20)]
    with pytest.raises(ValueError, match=r"\['a'\] are in every or in no"):
        train_vector_ovr(x, sets, ["a", "b"], seed=0, **IDENTITY)
    with pytest.raises(ValueError, match="not in label_set"):
        label_matrix([["z"]], ["a", "b"])


def test_bootstrap_builds_a_loadable_yeast_bundle(tmp_path: Path) -> None:
    from mitl_ml.bootstrap_multilabel import build_multilabel_bootstrap

    manifest = build_multilabel_bootstrap(tmp_path, "yeast", seed_size=200, seed=1)
    assert manifest.version == "yeast-ovr-bootstrap-s1"
    assert manifest.training["bootstrap"]["seed_size"] == 200
    assert load_model(tmp_path).multilabel
    with pytest.raises(ValueError, match="seed_size must be between"):
        build_multilabel_bootstrap(tmp_path / "x", "yeast", seed_size=1)
