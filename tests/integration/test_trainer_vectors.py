"""The trainer on a single-label vector dataset against the real broker and Postgres, on real
scikit-learn digits as 64-value vectors: it keeps the vectors, dead-letters a label outside the
label set, and once enough labels are verified retrains a head on the vectors (kind
vector-onnx), compares it with the announced champion on held-out accuracy (margin -1: it
wins) and announces it candidate then champion; its bundle loads and scores the vectors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from mitl_contracts.events import ItemContent, ItemIngested, Label
from mitl_ml.artifacts import bundle_path
from mitl_ml.manifest import write_bundle
from mitl_ml.runtime import load_model
from mitl_ml.train import train_vector_classifier
from sklearn.datasets import load_digits

from tests.integration.retraining import announced_champion, retrain

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "trainer"))
from mitl_trainer.app import create_app
from mitl_trainer.settings import Settings

pytestmark = pytest.mark.integration
ITEMS = 200
CHAMPION_ROWS = 100
LABELS = [str(n) for n in range(10)]


async def test_verified_labels_retrain_a_head_on_the_vectors(
    service_env: dict, tmp_path: Path
) -> None:
    # A fixed name (the session's broker and database are its own), so the holdout split,
    # which hashes the dataset and item ids, is the same every run.
    run = "digit-rows"
    dataset, champion = f"trainer-vec-{run}", f"boot-vec-{run}"
    kafka = service_env["kafka_bootstrap_servers"]
    digits = load_digits()
    boot = tmp_path / "boot"
    manifest, files = train_vector_classifier(
        digits.data[-CHAMPION_ROWS:].astype(np.float32),
        [str(y) for y in digits.target[-CHAMPION_ROWS:]],
        LABELS,
        seed=0,
        name="boot-vector",
        version=champion,
        dataset=dataset,
    )
    write_bundle(boot, manifest, files)
    catalog = tmp_path / "datasets.yaml"
    catalog.write_text(
        f"datasets:\n  {dataset}:\n    input_kind: vector\n    vector_dim: 64\n"
        f"    labels: [{', '.join(repr(label) for label in LABELS)}]\n    model: {boot}\n"
    )
    settings = Settings(
        **(service_env | {"datasets_file": catalog}),
        artifact_dir=tmp_path / "artifacts",
        min_labels=100,
        min_per_class=2,
        retrain_every=ITEMS,
        min_holdout=20,
        promotion_margin=-1.0,
        poll_interval_s=0.5,
    )
    items = [
        ItemIngested(
            event_id=f"ingested-{run}-{n}",
            dataset=dataset,
            item_id=f"{run}-{n}",
            external_id=f"digit-{n}",
            batch_id="b1",
            content=ItemContent(vector=[float(v) for v in digits.data[n]]),
        )
        for n in range(ITEMS)
    ]

    def label(n: int, value: str, event_id: str) -> Label:
        return Label(
            event_id=event_id,
            dataset=dataset,
            item_id=f"{run}-{n}",
            label=value,
            source="annotator",
            action="correct",
            annotator="ada",
            model_version=champion,
        )

    labels = [label(n, str(digits.target[n]), f"label-{run}-{n}") for n in range(ITEMS)]
    bad = label(0, "eleven", f"label-{run}-bad")
    announced = announced_champion(dataset, champion, boot)
    reason, announcements = await retrain(
        create_app(settings), kafka, announced, items, labels, refused=bad
    )
    assert reason is not None
    assert "'eleven' is not in dataset" in reason
    assert [e.status for e in announcements] == ["champion", "candidate", "champion"]
    assert announcements[1].model_version.startswith(f"{dataset}-vector-t")
    model = load_model(bundle_path(announcements[1].bundle_uri))
    assert model.manifest.kind == "vector-onnx" and model.manifest.vector_dim == 64
    trained = model.manifest.training["trainer"]
    assert trained["champion"]["version"] == champion and trained["holdout_items"] >= 20
    assert trained["verified_train"] + trained["holdout_items"] == ITEMS
    assert model.manifest.metrics["holdout_accuracy"] > 0.85
    scored = model.predict(digits.data[300:400].astype(np.float32)).probabilities
    assert np.mean(scored.argmax(axis=1) == digits.target[300:400]) > 0.75
