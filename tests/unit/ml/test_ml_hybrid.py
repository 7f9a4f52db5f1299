"""The hybrid model kind (MiniLM + TF-IDF word and char n-grams, temperature-scaled) trains,
exports to ONNX that serves the same probabilities, loads like the other kinds, and is refused
when its head was trained on another encoder; ECE and temperature scaling behave."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from mitl_ml.bootstrap import BootstrapSplits
from mitl_ml.calibrate import (
    chosen_temperature,
    expected_calibration_error,
    fit_temperature,
    with_temperature,
)
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.errors import ModelLoadError
from mitl_ml.export import onnx_features, onnx_probabilities
from mitl_ml.hybrid import LEADING_SCALE, head_dense
from mitl_ml.manifest import write_bundle
from mitl_ml.runtime import load_model
from mitl_ml.train import LEADING_POOLING, train_hybrid_logreg

# Encoding and training 500 texts three times over (the fit, the folds, the holdout) takes
# minutes on a busy 2-core machine.
pytestmark = pytest.mark.timeout(900)


def test_ece_is_zero_when_confidence_matches_accuracy_and_grows_with_overconfidence() -> None:
    # Two bins: confidence 0.75 right 3 of 4, confidence 1.0 right 2 of 2.
    probs = np.array([[0.75, 0.25]] * 4 + [[0.0, 1.0]] * 2)
    actual = np.array([0, 0, 0, 1, 1, 1])
    assert expected_calibration_error(probs, actual) == pytest.approx(0.0)
    sure = np.array([[0.99, 0.01]] * 4)
    assert expected_calibration_error(sure, np.array([0, 0, 1, 1])) == pytest.approx(0.49)


def test_temperature_flattens_an_overconfident_head_and_keeps_its_predictions() -> None:
    rng = np.random.default_rng(0)
    actual = rng.integers(0, 3, 2000)
    logits = rng.normal(size=(2000, 3))
    logits[np.arange(2000), actual] += 1.0
    probs = with_temperature(np.exp(logits) / np.exp(logits).sum(1, keepdims=True), 0.25)
    temperature = fit_temperature(probs, actual)
    assert temperature > 2.0
    scaled = with_temperature(probs, temperature)
    assert (scaled.argmax(1) == probs.argmax(1)).all()
    chosen, before, after = chosen_temperature(probs, actual)
    assert chosen == temperature and after < before


@pytest.fixture(scope="module")
def hybrid_bundle(
    tmp_path_factory: pytest.TempPathFactory,
    trec_splits: BootstrapSplits,
    encoder: MiniLMEncoder,
) -> Path:
    seed_set, holdout = trec_splits.seed_set, trec_splits.holdout
    manifest, files = train_hybrid_logreg(
        seed_set.texts(),
        seed_set.label_list(),
        seed_set.labels,
        seed=0,
        name="trec6-hybrid",
        version="trec6-hybrid-test",
        dataset="trec6",
        encoder=encoder,
        holdout=(holdout.texts()[:200], holdout.label_list()[:200]),
    )
    out = tmp_path_factory.mktemp("bundles") / "trec6-hybrid"
    write_bundle(out, manifest, files)
    return out


def test_hybrid_bundle_serves_what_it_was_evaluated_with(
    hybrid_bundle: Path, trec_splits: BootstrapSplits, encoder: MiniLMEncoder
) -> None:
    model = load_model(hybrid_bundle, encoder=encoder)
    manifest = model.manifest
    assert manifest.kind == "hybrid-logreg" and set(manifest.files) == {
        "features",
        "head",
        "centroids",
    }
    assert manifest.training["export_max_abs_diff"] <= 1e-4
    assert manifest.training["temperature"] > 0
    assert 0.0 <= manifest.metrics["holdout_ece"] < 0.2
    holdout = trec_splits.holdout
    out = model.predict(holdout.texts()[:200])
    index = {label: i for i, label in enumerate(model.labels)}
    actual = np.array([index[label] for label in holdout.label_list()[:200]])
    accuracy = float((out.probabilities.argmax(1) == actual).mean())
    assert accuracy == pytest.approx(manifest.metrics["holdout_accuracy"])
    assert out.embeddings is not None and out.outlier_scores.shape == (200,)


def test_hybrid_head_trained_on_another_encoder_is_refused(
    hybrid_bundle: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(hybrid_bundle, copy)
    raw = json.loads((copy / "manifest.json").read_text())
    raw["training"]["encoder"] = "some-other-encoder"
    (copy / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(ModelLoadError, match=r"training\.encoder is 'some-other-encoder'"):
        load_model(copy)


def test_a_head_reads_the_opening_word_when_asked_and_a_manifest_saying_otherwise_is_refused(
    hybrid_bundle: Path, trec_splits: BootstrapSplits, tmp_path: Path, encoder: MiniLMEncoder
) -> None:
    assert load_model(hybrid_bundle, encoder=encoder).manifest.pooling == ("mean",)  # default
    seed_set = trec_splits.seed_set
    manifest, files = train_hybrid_logreg(
        seed_set.texts(),
        seed_set.label_list(),
        seed_set.labels,
        seed=0,
        name="trec6-hybrid",
        version="trec6-hybridlead-test",
        dataset="trec6",
        encoder=encoder,
        pooling=LEADING_POOLING,
    )
    assert manifest.pooling == ("mean", "leading")
    assert manifest.training["pooling"] == ["mean", "leading"]
    assert manifest.training["export_max_abs_diff"] <= 1e-4
    bundle = tmp_path / "lead"
    write_bundle(bundle, manifest, files)
    model = load_model(bundle, encoder=encoder)
    assert model.reads_leading
    texts = seed_set.texts()[:50]
    served = model.predict(texts).probabilities
    tfidf = onnx_features(files["features.onnx"], texts)
    x = np.hstack([*head_dense(*encoder.encode(texts).dense()), tfidf])
    assert np.abs(served - onnx_probabilities(files["head.onnx"], x)).max() <= 1e-4
    # The same head read as if it took the embedding alone does not fit its input width:
    # refused at load, never served half-right.
    raw = json.loads((bundle / "manifest.json").read_text())
    raw["pooling"] = ["mean"]
    (bundle / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(ModelLoadError, match="input"):
        load_model(bundle, encoder=encoder)


def test_the_leading_state_enters_the_head_at_half_length_and_the_embedding_as_it_is() -> None:
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(4, 384)).astype(np.float32)
    leading = rng.normal(size=(4, 384)).astype(np.float32)
    leading /= np.linalg.norm(leading, axis=1, keepdims=True)
    (alone,) = head_dense(embeddings, None)
    first, second = head_dense(embeddings, leading)
    np.testing.assert_array_equal(alone, embeddings)
    np.testing.assert_array_equal(first, embeddings)
    np.testing.assert_allclose(np.linalg.norm(second, axis=1), LEADING_SCALE, atol=1e-6)
