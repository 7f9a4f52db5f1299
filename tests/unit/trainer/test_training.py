"""Training a candidate on real TREC-6 questions: reproducible to the byte, provenance in the
manifest, compared with a champion on the same held-out items, stored by digest and loadable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mitl_contracts.datasets import Dataset
from mitl_ml.artifacts import ArtifactStore, manifest_digest
from mitl_ml.datasets import load_trec6, stratified_sample
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.runtime import load_model
from mitl_trainer.core.training_set import LabelRow, TrainingSet, build
from mitl_trainer.training import Champion, Rules, store_candidate, train_candidate, version_for

LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
T0 = datetime(2026, 5, 1, tzinfo=UTC)
DATASET = Dataset(name="trec6", labels=LABELS)
PROVENANCE = {"request": "manual-trec6-150", "trigger": "manual", "trigger_ref": "150"}


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    return MiniLMEncoder(intra_op_threads=2)


@pytest.fixture(scope="module")
def training() -> TrainingSet:
    sample = stratified_sample(load_trec6(), 150, seed=3)
    texts = {f"q{n}": example.text or "" for n, example in enumerate(sample.examples)}
    rows = [
        LabelRow(f"q{n}", example.label, "annotator", T0 + timedelta(seconds=n), n)
        for n, example in enumerate(sample.examples)
    ]
    return build("trec6", rows, texts, holdout_fraction=0.25)


def test_a_candidate_is_reproducible_and_says_what_it_was_trained_on(
    training: TrainingSet, encoder: MiniLMEncoder
) -> None:
    rules = Rules(seed=0, margin=0.0, min_holdout=20)
    first = train_candidate(DATASET, training, None, rules, encoder, PROVENANCE)
    again = train_candidate(DATASET, training, None, rules, encoder, PROVENANCE)
    assert first.manifest.model_dump_json() == again.manifest.model_dump_json()
    assert first.files == again.files
    manifest = first.manifest
    assert manifest.version == version_for("trec6", training.digest(0))
    assert manifest.created_at == training.labels_until == T0 + timedelta(seconds=149)
    record = manifest.training["trainer"]
    assert record["request"] == "manual-trec6-150" and record["seed"] == 0
    assert record["verified_train"] == len(training.train)
    assert record["holdout_items"] == len(training.holdout) >= 20
    assert record["label_counts"] == training.class_counts
    assert record["training_sha256"] == training.digest(0)
    assert record["champion"] is None
    assert record["promotion"]["promote"] is True
    assert manifest.metrics["holdout_n"] == len(training.holdout)
    assert first.verdict.reason == "no champion to compare with"


def test_the_stored_candidate_loads_and_beats_or_not_its_champion(
    training: TrainingSet, encoder: MiniLMEncoder, tmp_path: Path
) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    rules = Rules(seed=0, margin=0.0, min_holdout=20)
    candidate = train_candidate(DATASET, training, None, rules, encoder, PROVENANCE)
    digest, path = store_candidate(candidate, store, encoder)
    assert digest == manifest_digest(path) and path == store.path(digest)
    assert store_candidate(candidate, store, encoder)[0] == digest
    assert load_model(path, encoder=encoder).version == candidate.manifest.version
    # The same model as its own champion: equal accuracy, so margin 0 promotes, 0.01 does not.
    champion = Champion(candidate.manifest.version, path, digest)
    tie = train_candidate(DATASET, training, champion, rules, encoder, PROVENANCE)
    metrics = tie.manifest.metrics
    assert metrics["champion_holdout_accuracy"] == pytest.approx(metrics["holdout_accuracy"])
    assert tie.verdict.promote
    record = tie.manifest.training["trainer"]["champion"]
    assert (record["version"], record["artifact_sha256"]) == (champion.version, digest)
    strict = train_candidate(DATASET, training, champion, Rules(0, 0.01, 20), encoder, PROVENANCE)
    assert not strict.verdict.promote and "margin +0.0100" in strict.verdict.reason


def test_with_hybrid_leading_the_head_reads_the_opening_word_and_is_named_so(
    training: TrainingSet, encoder: MiniLMEncoder, tmp_path: Path
) -> None:
    from mitl_trainer.settings import Settings

    settings = Settings(hybrid_leading=True, min_holdout=20, promotion_margin=0.0)
    rules = Rules.of(settings, "hybrid-logreg")
    assert rules.pooling == ("mean", "leading")
    assert Rules.of(settings, "pixels-logreg").pooling == ("mean",)  # images have no words
    candidate = train_candidate(DATASET, training, None, rules, encoder, PROVENANCE)
    manifest = candidate.manifest
    assert manifest.pooling == ("mean", "leading")
    assert manifest.version == version_for("trec6", training.digest(0), pooling=rules.pooling)
    assert manifest.version.startswith("trec6-hybridlead-t")
    # Not the version the same labels give a head without it: both can be registered.
    assert manifest.version != version_for("trec6", training.digest(0))
    _, path = store_candidate(candidate, ArtifactStore(tmp_path / "artifacts"), encoder)
    model = load_model(path, encoder=encoder)
    assert model.reads_leading
    assert model.predict(["How many moons has Mars ?"]).probabilities.shape == (1, 6)


def test_a_dataset_that_declares_hybrid_leading_gets_it_and_others_do_not() -> None:
    from mitl_contracts.datasets import Dataset as Declared
    from mitl_trainer.settings import Settings

    settings = Settings()  # MITL_HYBRID_LEADING off
    questions = Declared(name="questions", labels=LABELS, hybrid_leading=True)
    assert Rules.of(settings, "hybrid-logreg", questions).pooling == ("mean", "leading")
    assert Rules.of(settings, "hybrid-logreg", DATASET).pooling == ("mean",)
    assert Rules.of(settings, "minilm-logreg", questions).pooling == ("mean",)
    with pytest.raises(ValueError, match="hybrid_leading is for single-label text datasets"):
        Declared(
            name="v", labels=["a", "b"], input_kind="vector", vector_dim=3, hybrid_leading=True
        )
