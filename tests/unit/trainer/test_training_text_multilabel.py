"""Training a multi-label text dataset's candidate: a one-vs-rest head on MiniLM + TF-IDF
features (kind hybrid-ovr-onnx) from verified label sets of real WNUT-16 tweets (their entity
types), stored as the trainer stores them, compared with its champion on the share of
held-out label decisions right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from mitl_contracts.datasets import Dataset
from mitl_contracts.events import ItemContent, ItemIngested, label_set_key
from mitl_ml.artifacts import ArtifactStore
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.runtime import load_model
from mitl_ml.text_multilabel_data import load_wnut16_types
from mitl_trainer.core.training_set import LabelRow, TrainingSet, build
from mitl_trainer.store.learned import stored_content
from mitl_trainer.training import (
    Champion,
    Rules,
    class_counts,
    kind_for,
    score_metric,
    store_candidate,
    train_candidate,
    version_for,
)

T0 = datetime(2026, 5, 1, tzinfo=UTC)
DATA = load_wnut16_types()
DATASET = Dataset(name="tweets-ml", labels=list(DATA.labels), task="multilabel")
PROVENANCE = {"request": "manual-tweets", "trigger": "manual", "trigger_ref": "1"}


def rows_with_every_label() -> list[int]:
    """The first 200 tweets and the first 12 holding each entity type."""
    rows = set(range(200))
    for j in range(len(DATA.labels)):
        rows |= set(np.flatnonzero(DATA.y[:, j])[:12].tolist())
    return sorted(rows)


@pytest.fixture(scope="module")
def training() -> TrainingSet:
    picked = rows_with_every_label()
    sets = DATA.label_sets()
    rows = [
        LabelRow(f"t{i}", label_set_key(sets[i]), "annotator", T0 + timedelta(seconds=n), n)
        for n, i in enumerate(picked)
    ]
    stored = {
        f"t{i}": stored_content(
            ItemIngested(
                dataset="tweets-ml", item_id=f"t{i}", external_id=f"t{i}", batch_id="b",
                content=ItemContent(text=DATA.texts[i]),
            )
        )
        for i in picked
    }  # fmt: skip
    return build("tweets-ml", rows, stored, holdout_fraction=0.25)


def test_a_multilabel_text_dataset_trains_a_text_one_vs_rest_head(
    training: TrainingSet, tmp_path: Path
) -> None:
    encoder = MiniLMEncoder(intra_op_threads=1)
    kind = kind_for(DATASET, "hybrid-logreg")
    assert kind == "hybrid-ovr-onnx" and score_metric(kind) == "label_decision_accuracy"
    rules = Rules(seed=0, margin=0.0, min_holdout=20, kind=kind)
    candidate = train_candidate(DATASET, training, None, rules, encoder, PROVENANCE)
    manifest = candidate.manifest
    assert manifest.kind == "hybrid-ovr-onnx" and manifest.input_kind == "text"
    assert manifest.version == version_for("tweets-ml", training.digest(0), kind)
    assert manifest.metrics["holdout_label_decision_accuracy"] > 0.85
    record = manifest.training["trainer"]
    assert record["promotion"]["metric"] == "label_decision_accuracy"
    counts = class_counts(kind, training)
    assert record["label_counts"] == counts and set(counts) == set(DATA.labels)
    store = ArtifactStore(tmp_path / "artifacts")
    digest, path = store_candidate(candidate, store, encoder)
    served = load_model(path, encoder=encoder)
    assert served.multilabel
    probs = served.predict([e.text for e in training.holdout]).probabilities
    assert probs.shape == (len(training.holdout), len(DATA.labels))
    champion = Champion(manifest.version, path, digest)
    tie = train_candidate(DATASET, training, champion, rules, encoder, PROVENANCE)
    metrics = tie.manifest.metrics
    assert metrics["champion_holdout_label_decision_accuracy"] == pytest.approx(
        metrics["holdout_label_decision_accuracy"], abs=1e-6
    )
    assert tie.verdict.promote
    stricter = Rules(seed=0, margin=0.05, min_holdout=20, kind=kind)
    assert not train_candidate(
        DATASET, training, champion, stricter, encoder, PROVENANCE
    ).verdict.promote
