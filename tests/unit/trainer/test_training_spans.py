"""Training a span dataset's candidate: a minilm-tagger from verified span sets, compared with
its champion on entity-level F1 over the same held-out items, stored and loadable; span labels
a tagger can never learn from are refused at intake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mitl_contracts.datasets import Dataset
from mitl_contracts.events import Label
from mitl_contracts.spans import Span, spans_key
from mitl_ml.artifacts import ArtifactStore
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.runtime import load_model
from mitl_trainer.core.span_sets import entity_counts, span_sets
from mitl_trainer.core.training_set import LabelRow, TrainingSet, build
from mitl_trainer.handlers import label_fault
from mitl_trainer.training import (
    Champion,
    Rules,
    kind_for,
    store_candidate,
    train_candidate,
    version_for,
)

from tests.unit.ml.test_ml_tagger import LABELS, corpus

T0 = datetime(2026, 5, 1, tzinfo=UTC)
DATASET = Dataset(name="toy-ner", labels=LABELS, task="spans")
PROVENANCE = {"request": "manual-toy-ner-90", "trigger": "manual", "trigger_ref": "90"}


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    return MiniLMEncoder(intra_op_threads=2)


@pytest.fixture(scope="module")
def training() -> TrainingSet:
    texts, spans = corpus(90)
    rows = [
        LabelRow(f"s{n}", spans_key(s), "annotator", T0 + timedelta(seconds=n), n)
        for n, s in enumerate(spans)
    ]
    return build("toy-ner", rows, {f"s{n}": t for n, t in enumerate(texts)}, holdout_fraction=0.25)


def test_a_span_dataset_trains_a_tagger_compared_on_entity_f1(
    training: TrainingSet, encoder: MiniLMEncoder, tmp_path: Path
) -> None:
    assert kind_for(DATASET, "hybrid-logreg") == "minilm-tagger"
    rules = Rules(seed=0, margin=0.0, min_holdout=10, kind="minilm-tagger")
    candidate = train_candidate(DATASET, training, None, rules, encoder, PROVENANCE)
    manifest = candidate.manifest
    assert manifest.kind == "minilm-tagger"
    assert manifest.version == version_for("toy-ner", training.digest(0), "minilm-tagger")
    assert "-tagger-t" in manifest.version
    assert manifest.metrics["holdout_entity_f1"] >= 0.8
    record = manifest.training["trainer"]
    assert record["label_counts"] == entity_counts(training.train)
    assert set(record["label_counts"]) == {"person", "city"}
    assert record["promotion"]["metric"] == "entity_f1" and candidate.verdict.promote
    store = ArtifactStore(tmp_path / "artifacts")
    digest, path = store_candidate(candidate, store, encoder)
    text = training.holdout[0].text
    served = load_model(path, encoder=encoder).predict([text])
    assert served.spans is not None and served.spans_complete is not None
    # The stored model as its own champion: equal entity F1, so margin 0 promotes, 0.05 not.
    champion = Champion(manifest.version, path, digest)
    tie = train_candidate(DATASET, training, champion, rules, encoder, PROVENANCE)
    metrics = tie.manifest.metrics
    assert metrics["champion_holdout_entity_f1"] == pytest.approx(metrics["holdout_entity_f1"])
    assert tie.verdict.promote and "holdout entity_f1" in tie.verdict.reason
    stricter = Rules(seed=0, margin=0.05, min_holdout=10, kind="minilm-tagger")
    assert not train_candidate(
        DATASET, training, champion, stricter, encoder, PROVENANCE
    ).verdict.promote


def test_span_set_labels_read_back_and_count_per_entity(training: TrainingSet) -> None:
    sets = span_sets(training.train)
    assert all(len(spans) == 2 for spans in sets)
    assert entity_counts(training.train) == {"city": len(sets), "person": len(sets)}


def _label(spans: list[Span] | None, label: str | None = None) -> Label:
    return Label(
        dataset="toy-ner",
        item_id="i1",
        label=label if label is not None else spans_key(spans or []),
        spans=spans,
        source="annotator",
        action="correct",
        model_version="m1",
    )


def test_intake_refuses_span_labels_no_tagger_can_learn_from() -> None:
    good = [Span(start=0, end=3, label="person")]
    assert label_fault(DATASET, _label(good)) is None
    assert label_fault(DATASET, _label([])) is None  # "no entity here" is a label too
    assert "no 'spans'" in (label_fault(DATASET, _label(None, "0:3:person")) or "")
    alien = label_fault(DATASET, _label([Span(start=0, end=3, label="planet")]))
    assert alien is not None and "planet" in alien
    overlapping = [Span(start=0, end=5, label="person"), Span(start=3, end=8, label="city")]
    assert "overlap" in (label_fault(DATASET, _label(overlapping)) or "")
    single = Dataset(name="trec", labels=["a", "b"])
    assert label_fault(single, _label(None, "c")) is not None
