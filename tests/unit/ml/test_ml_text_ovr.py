"""The one-vs-rest head on text features (kind hybrid-ovr-onnx): trained on real WNUT-16 tweets
labeled with the set of entity types they mention, exported to ONNX, served by load_model with
one independent probability per label that matches scikit-learn's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.errors import ModelLoadError
from mitl_ml.hybrid import HybridFeaturizer
from mitl_ml.manifest import MULTILABEL_KINDS, read_manifest, write_bundle
from mitl_ml.runtime import load_model
from mitl_ml.text_multilabel_data import load_wnut16_types
from mitl_ml.text_ovr import (
    TEXT_OVR_C,
    TEXT_OVR_KIND,
    head_scaling,
    text_features,
    train_text_ovr,
)
from sklearn.linear_model import LogisticRegression

IDENTITY = {"name": "wnut-ovr", "version": "wnut-ovr-1", "dataset": "wnut16-types"}
DATA = load_wnut16_types()
LABELS = list(DATA.labels)


def slice_with_every_label(size: int) -> tuple[list[int], list[int]]:
    """Training rows: the first `size` tweets plus the first 4 holding each label (so every
    label is in some and missing from others); the held-out rows: the next 40 tweets."""
    rows = set(range(size))
    for j in range(len(LABELS)):
        rows |= set(np.flatnonzero(DATA.y[:, j])[:4].tolist())
    held = [i for i in range(size, len(DATA)) if i not in rows][:40]
    return sorted(rows), held


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    return MiniLMEncoder(intra_op_threads=1)


@pytest.fixture(scope="module")
def trained(encoder: MiniLMEncoder) -> tuple[list[int], list[int], tuple]:
    train, held = slice_with_every_label(160)
    sets = DATA.label_sets()
    bundle = train_text_ovr(
        [DATA.texts[i] for i in train],
        [sets[i] for i in train],
        LABELS,
        encoder=encoder,
        seed=0,
        holdout=([DATA.texts[i] for i in held], ["|".join(sets[i]) for i in held]),
        **IDENTITY,
    )
    return train, held, bundle


def test_text_ovr_serves_per_label_probabilities_matching_sklearn(
    trained: tuple, encoder: MiniLMEncoder, tmp_path: Path
) -> None:
    train, held, (manifest, files) = trained
    assert manifest.kind == TEXT_OVR_KIND and TEXT_OVR_KIND in MULTILABEL_KINDS
    assert manifest.input_kind == "text" and set(files) == {"features.onnx", "head.onnx"}
    assert manifest.training["encoder_sha256"] == encoder.sha256
    assert manifest.training["export_max_abs_diff"] < 1e-4
    assert manifest.metrics["holdout_label_decision_accuracy"] > 0.85
    assert "holdout_accuracy.person" in manifest.metrics
    write_bundle(tmp_path, manifest, files)
    model = load_model(tmp_path, encoder=encoder)
    assert model.multilabel and model.labels == LABELS
    texts = [DATA.texts[i] for i in held]
    served = model.predict(texts).probabilities
    assert served.shape == (len(held), len(LABELS))
    assert not np.allclose(served.sum(axis=1), 1.0)  # independent, not a distribution

    # The same head fitted here with scikit-learn, label by label, on the same features.
    train_texts = [DATA.texts[i] for i in train]
    featurizer = HybridFeaturizer(train_texts)
    embedded = encoder.encode(train_texts).embeddings
    mean, scale = head_scaling(embedded, featurizer.width)
    x = text_features(featurizer, train_texts, embedded, mean, scale)
    x_held = text_features(featurizer, texts, encoder.encode(texts).embeddings, mean, scale)
    for j, label in enumerate(LABELS):
        column = DATA.y[train, j]
        expected = (
            LogisticRegression(C=TEXT_OVR_C, max_iter=2000, random_state=0)
            .fit(x, column)
            .predict_proba(x_held)[:, 1]
        )
        assert np.abs(served[:, j] - expected).max() < 1e-4, label


def test_text_ovr_bundle_round_trips_and_is_deterministic(
    trained: tuple, encoder: MiniLMEncoder, tmp_path: Path
) -> None:
    train, _, (manifest, files) = trained
    written = write_bundle(tmp_path / "b", manifest, files)
    assert read_manifest(tmp_path / "b") == written
    again = load_model(tmp_path / "b", encoder=encoder)
    sets = DATA.label_sets()
    assert again.predict(["Going to see Beyonce in Houston tonight"]).probabilities.shape == (1, 10)
    retrained = train_text_ovr(
        [DATA.texts[i] for i in train], [sets[i] for i in train], LABELS,
        encoder=encoder, seed=0, **IDENTITY,
    )  # fmt: skip
    assert retrained[1] == files  # same data and seed: byte-identical files
    # A bundle whose features file is gone is refused at load, naming it.
    (tmp_path / "b" / "features.onnx").unlink()
    with pytest.raises(ModelLoadError, match=r"features\.onnx"):
        load_model(tmp_path / "b", encoder=encoder)


def test_text_ovr_refuses_labels_it_cannot_learn(encoder: MiniLMEncoder) -> None:
    texts = ["a tweet about Paris", "another about London", "and one more", "last one"]
    with pytest.raises(ValueError, match=r"\['person'\] are in every or in no"):
        train_text_ovr(texts, [["geo-loc"], [], ["geo-loc"], []], ["geo-loc", "person"],
                       encoder=encoder, seed=0, **IDENTITY)  # fmt: skip
    with pytest.raises(ValueError, match="4 texts but 3 label sets"):
        train_text_ovr(texts, [["geo-loc"], [], []], ["geo-loc", "person"],
                       encoder=encoder, seed=0, **IDENTITY)  # fmt: skip
