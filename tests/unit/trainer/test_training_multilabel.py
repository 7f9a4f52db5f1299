"""Training a multi-label vector dataset's candidate: a one-vs-rest head from verified label
sets (real MULAN Yeast rows, stored as the trainer stores them), compared with its champion
on the share of held-out label decisions right; label sets it cannot learn from are refused
at intake."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mitl_contracts.datasets import Dataset
from mitl_contracts.events import ItemContent, ItemIngested, Label, label_set_key
from mitl_ml.artifacts import ArtifactStore
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.multilabel_data import load_yeast
from mitl_ml.runtime import load_model
from mitl_trainer.core.training_set import LabelRow, TrainingSet, build
from mitl_trainer.handlers import label_fault
from mitl_trainer.store.learned import stored_content
from mitl_trainer.training import (
    Champion,
    Rules,
    class_counts,
    kind_for,
    store_candidate,
    train_candidate,
    version_for,
)

T0 = datetime(2026, 5, 1, tzinfo=UTC)
ROWS = 400
YEAST = load_yeast()
DATASET = Dataset(
    name="yeast-ml",
    labels=list(YEAST.labels),
    task="multilabel",
    input_kind="vector",
    vector_dim=YEAST.x.shape[1],
)
PROVENANCE = {"request": "manual-yeast-400", "trigger": "manual", "trigger_ref": "400"}


@pytest.fixture(scope="module")
def training() -> TrainingSet:
    sets = YEAST.label_sets()[:ROWS]
    rows = [
        LabelRow(f"y{n}", label_set_key(s), "annotator", T0 + timedelta(seconds=n), n)
        for n, s in enumerate(sets)
    ]
    stored = {
        f"y{n}": stored_content(
            ItemIngested(
                dataset="yeast-ml",
                item_id=f"y{n}",
                external_id=f"y{n}",
                batch_id="b",
                content=ItemContent(vector=[float(v) for v in YEAST.x[n]]),
            )
        )
        for n in range(ROWS)
    }
    return build("yeast-ml", rows, stored, holdout_fraction=0.25)


def test_a_multilabel_vector_dataset_trains_a_one_vs_rest_head(
    training: TrainingSet, tmp_path: Path
) -> None:
    encoder = MiniLMEncoder(intra_op_threads=1)  # the worker's; vectors do not use it
    kind = kind_for(DATASET, "hybrid-logreg")
    assert kind == "vector-ovr-onnx"
    rules = Rules(seed=0, margin=0.0, min_holdout=20, kind=kind)
    candidate = train_candidate(DATASET, training, None, rules, encoder, PROVENANCE)
    manifest = candidate.manifest
    assert manifest.kind == "vector-ovr-onnx" and manifest.vector_dim == 103
    assert manifest.version == version_for("yeast-ml", training.digest(0), kind)
    assert "-ovr-t" in manifest.version
    assert manifest.metrics["holdout_label_decision_accuracy"] > 0.7
    record = manifest.training["trainer"]
    assert record["promotion"]["metric"] == "label_decision_accuracy"
    counts = class_counts(kind, training)
    assert record["label_counts"] == counts and set(counts) <= set(YEAST.labels)
    assert sum(counts.values()) > len(training.train)  # items hold several labels
    store = ArtifactStore(tmp_path / "artifacts")
    digest, path = store_candidate(candidate, store, encoder)
    assert load_model(path).multilabel
    champion = Champion(manifest.version, path, digest)
    tie = train_candidate(DATASET, training, champion, rules, encoder, PROVENANCE)
    metrics = tie.manifest.metrics
    assert metrics["champion_holdout_label_decision_accuracy"] == pytest.approx(
        metrics["holdout_label_decision_accuracy"]
    )
    assert tie.verdict.promote and "label_decision_accuracy" in tie.verdict.reason
    stricter = Rules(seed=0, margin=0.05, min_holdout=20, kind=kind)
    later = train_candidate(DATASET, training, champion, stricter, encoder, PROVENANCE)
    assert not later.verdict.promote


def test_intake_refuses_label_sets_no_head_can_learn_from() -> None:
    def label(labels: list[str] | None, key: str) -> Label:
        return Label(
            dataset="yeast-ml",
            item_id="i",
            label=key,
            labels=labels,
            source="annotator",
            action="correct",
            model_version="m",
        )

    first, second = YEAST.labels[0], YEAST.labels[1]
    assert label_fault(DATASET, label([first, second], label_set_key([first, second]))) is None
    assert label_fault(DATASET, label([], "")) is None
    assert "no 'labels'" in (label_fault(DATASET, label(None, first)) or "")
    assert "Class99" in (label_fault(DATASET, label(["Class99"], "Class99")) or "")


def test_a_vector_is_stored_as_json() -> None:
    item = ItemIngested(
        dataset="yeast-ml",
        item_id="i",
        external_id="i",
        batch_id="b",
        content=ItemContent(vector=[0.5, -1.0]),
    )
    assert json.loads(stored_content(item)) == [0.5, -1.0]
