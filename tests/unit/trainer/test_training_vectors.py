"""Training a single-label vector dataset's candidate: a standardised logistic-regression head
on the items' own vectors (kind vector-onnx; real scikit-learn digits as 64-value vectors,
stored as the trainer stores them), compared with its champion on held-out accuracy. A vector
dataset is trained like any other: the trainer takes its events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from mitl_contracts.datasets import Catalog, Dataset
from mitl_contracts.events import ItemContent, ItemIngested
from mitl_ml.artifacts import ArtifactStore
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.runtime import load_model
from mitl_trainer.core.training_set import LabelRow, TrainingSet, build
from mitl_trainer.handlers import trained
from mitl_trainer.store.learned import stored_content
from mitl_trainer.training import Champion, Rules, kind_for, store_candidate, train_candidate
from sklearn.datasets import load_digits

T0 = datetime(2026, 5, 1, tzinfo=UTC)
ROWS = 400
DIGITS = load_digits()
DATASET = Dataset(
    name="digit-vectors", labels=[str(n) for n in range(10)], input_kind="vector", vector_dim=64
)
PROVENANCE = {"request": "manual-digit-vectors-400", "trigger": "manual", "trigger_ref": "400"}


@pytest.fixture(scope="module")
def training() -> TrainingSet:
    rows = [
        LabelRow(f"d{n}", str(DIGITS.target[n]), "annotator", T0 + timedelta(seconds=n), n)
        for n in range(ROWS)
    ]
    stored = {
        f"d{n}": stored_content(
            ItemIngested(
                dataset=DATASET.name,
                item_id=f"d{n}",
                external_id=f"d{n}",
                batch_id="b",
                content=ItemContent(vector=[float(v) for v in DIGITS.data[n]]),
            )
        )
        for n in range(ROWS)
    }
    return build(DATASET.name, rows, stored, holdout_fraction=0.25)


def test_the_trainer_takes_every_declared_dataset_vectors_too() -> None:
    catalog = Catalog(datasets={DATASET.name: DATASET})
    assert trained(catalog, DATASET.name) is DATASET
    assert trained(catalog, "undeclared") is None


def test_a_single_label_vector_dataset_trains_a_head_on_its_vectors(
    training: TrainingSet, tmp_path: Path
) -> None:
    encoder = MiniLMEncoder(intra_op_threads=1)  # the worker's; vectors do not use it
    kind = kind_for(DATASET, "hybrid-logreg")
    assert kind == "vector-onnx"
    rules = Rules(seed=0, margin=0.0, min_holdout=20, kind=kind)
    candidate = train_candidate(DATASET, training, None, rules, encoder, PROVENANCE)
    manifest = candidate.manifest
    assert manifest.kind == "vector-onnx" and manifest.vector_dim == 64
    assert manifest.version.startswith("digit-vectors-vector-t")
    assert manifest.metrics["holdout_accuracy"] > 0.9
    assert candidate.verdict.promote  # no champion: enough held-out items decide
    store = ArtifactStore(tmp_path / "artifacts")
    digest, path = store_candidate(candidate, store, encoder)
    model = load_model(path)
    scored = model.predict(DIGITS.data[:50].astype(np.float32)).probabilities
    assert np.mean(scored.argmax(axis=1) == DIGITS.target[:50]) > 0.9
    # The same data against itself as champion: a tie, promoted at margin 0, not at 0.05.
    champion = Champion(manifest.version, path, digest)
    tie = train_candidate(DATASET, training, champion, rules, encoder, PROVENANCE)
    metrics = tie.manifest.metrics
    assert metrics["champion_holdout_accuracy"] == pytest.approx(metrics["holdout_accuracy"])
    assert tie.verdict.promote
    stricter = Rules(seed=0, margin=0.05, min_holdout=20, kind=kind)
    assert not train_candidate(
        DATASET, training, champion, stricter, encoder, PROVENANCE
    ).verdict.promote
