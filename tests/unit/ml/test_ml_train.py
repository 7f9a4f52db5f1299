from typing import Any

import numpy as np
import pytest
from mitl_ml.bootstrap import BootstrapSplits
from mitl_ml.datasets import load_digits, split
from mitl_ml.manifest import ModelManifest
from mitl_ml.runtime import load_model
from mitl_ml.train import evaluate, tfidf_pipeline, train_tfidf_logreg, train_vector_classifier

IDENTITY: dict[str, Any] = {"name": "t", "version": "t-1", "dataset": "d"}


def test_tfidf_onnx_matches_sklearn(tfidf_bundle: tuple, trec_splits: BootstrapSplits) -> None:
    directory, manifest = tfidf_bundle
    seed_set = trec_splits.seed_set
    index = {label: i for i, label in enumerate(manifest.labels)}
    reference = tfidf_pipeline(seed=0).fit(
        seed_set.texts(), [index[label] for label in seed_set.label_list()]
    )
    texts = trec_splits.holdout.texts()[:200]
    onnx_probs = load_model(directory).predict(texts).probabilities
    np.testing.assert_allclose(onnx_probs, reference.predict_proba(texts), atol=1e-4)
    assert manifest.training["export_max_abs_diff"] < 1e-4
    assert manifest.outlier["calibration"] == "out-of-fold"


def _digits_bundle(seed: int) -> tuple[ModelManifest, dict[str, bytes]]:
    train, test = split(load_digits(), seed=0, test_fraction=0.3)
    return train_vector_classifier(
        train.vectors(),
        train.label_list(),
        list(train.labels),
        seed=seed,
        holdout=(test.vectors(), test.label_list()),
        **IDENTITY,
    )


def test_vector_training_is_deterministic_and_accurate() -> None:
    first, first_files = _digits_bundle(0)
    second, second_files = _digits_bundle(0)
    assert first_files == second_files
    assert first.sha256 == second.sha256
    assert first.metrics["holdout_accuracy"] > 0.9
    assert first.vector_dim == 64 and first.kind == "vector-onnx"


def test_training_requires_every_class() -> None:
    with pytest.raises(ValueError, match="no training examples"):
        train_tfidf_logreg(["a b", "c d"], ["x", "x"], ["x", "y"], seed=0, **IDENTITY)
    with pytest.raises(ValueError, match="not in label_set"):
        train_tfidf_logreg(["a b", "c d"], ["x", "z"], ["x", "y"], seed=0, **IDENTITY)


def test_sample_weight_changes_the_model(trec_splits: BootstrapSplits) -> None:
    seed_set = trec_splits.seed_set
    texts, labels = seed_set.texts()[:120], seed_set.label_list()[:120]
    label_set = sorted(set(labels))
    plain, _ = train_tfidf_logreg(texts, labels, label_set, seed=0, **IDENTITY)
    weights = np.where(np.array(labels) == label_set[0], 5.0, 1.0)
    weighted, _ = train_tfidf_logreg(
        texts, labels, label_set, seed=0, sample_weight=weights, **IDENTITY
    )
    assert weighted.training["weighted"] is True
    assert weighted.sha256 != plain.sha256


def test_evaluate_reports_accuracy_and_recall(
    tfidf_bundle: tuple, trec_splits: BootstrapSplits
) -> None:
    directory, manifest = tfidf_bundle
    holdout = trec_splits.holdout
    result = evaluate(load_model(directory), holdout.texts(), holdout.label_list())
    assert result["n"] == len(holdout)
    assert result["accuracy"] == pytest.approx(manifest.metrics["holdout_accuracy"])
    assert {f"recall/{label}" for label in manifest.labels} <= set(result)
