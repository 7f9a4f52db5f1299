"""The trainer on an image dataset: candidates are pixels heads trained from the images it
stored (base64, as the events carry them), compared with the champion on the same items."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from mitl_contracts.datasets import Dataset
from mitl_ml.artifacts import ArtifactStore
from mitl_ml.datasets import load_image_dataset, stratified_sample
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.runtime import load_model
from mitl_trainer.core.training_set import LabelRow, build
from mitl_trainer.training import (
    Champion,
    Rules,
    kind_for,
    store_candidate,
    train_candidate,
    version_for,
)

T0 = datetime(2026, 5, 1, tzinfo=UTC)
DIGITS = Dataset(name="digits", input_kind="image", labels=[str(d) for d in range(10)])
PROVENANCE = {"request": "manual-digits-300", "trigger": "manual", "trigger_ref": "300"}


class NoEncoder(MiniLMEncoder):
    """An image candidate must never embed anything: this encoder refuses to."""

    def __init__(self) -> None:
        pass

    def encode(self, texts: list[str]) -> object:  # type: ignore[override]
        raise AssertionError("an image model used the text encoder")


def test_an_image_dataset_trains_a_pixels_candidate_from_stored_images(tmp_path: Path) -> None:
    sample = stratified_sample(load_image_dataset("digits"), 300, seed=1)
    stored = {
        f"d{n}": base64.b64encode(e.image or b"").decode() for n, e in enumerate(sample.examples)
    }
    rows = [
        LabelRow(f"d{n}", e.label, "annotator", T0 + timedelta(seconds=n), n)
        for n, e in enumerate(sample.examples)
    ]
    training = build("digits", rows, stored, holdout_fraction=0.25)
    assert kind_for(DIGITS, "hybrid-logreg") == "pixels-logreg"
    rules = Rules(seed=0, margin=0.0, min_holdout=20, kind=kind_for(DIGITS, "minilm-logreg"))
    encoder = NoEncoder()
    first = train_candidate(DIGITS, training, None, rules, encoder, PROVENANCE)
    manifest = first.manifest
    assert manifest.kind == "pixels-logreg" and manifest.image_size == 8
    assert manifest.version == version_for("digits", training.digest(0), "pixels-logreg")
    assert manifest.version.startswith("digits-pixels-t")
    assert manifest.metrics["holdout_accuracy"] > 0.85
    digest, path = store_candidate(first, ArtifactStore(tmp_path / "artifacts"), encoder)
    champion = Champion(manifest.version, path, digest)
    again = train_candidate(DIGITS, training, champion, rules, encoder, PROVENANCE)
    assert again.manifest.image_size == manifest.image_size == 8
    beaten = again.manifest.metrics["champion_holdout_accuracy"]
    assert beaten == manifest.metrics["holdout_accuracy"]
    served = load_model(path).predict([e.image or b"" for e in sample.examples[:5]])
    assert np.allclose(served.probabilities.sum(axis=1), 1.0, atol=1e-5)
