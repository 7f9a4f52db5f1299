"""The trainer on an image dataset against the real broker and Postgres: it keeps the images
of ingested items and, once enough are verified, trains a pixels candidate at the champion's
image size that beats it (margin -1) and is announced candidate then champion."""

from __future__ import annotations

import base64
import sys
import uuid
from pathlib import Path

import pytest
from mitl_contracts.events import ItemContent, ItemIngested, Label
from mitl_ml.artifacts import bundle_path
from mitl_ml.bootstrap import bootstrap_splits, build_bootstrap
from mitl_ml.runtime import load_model

from tests.integration.retraining import announced_champion, retrain

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "trainer"))
from mitl_trainer.app import create_app
from mitl_trainer.settings import Settings

pytestmark = pytest.mark.integration
ITEMS = 160


async def test_verified_images_train_a_pixels_champion(service_env: dict, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    dataset, champion = f"trainer-img-{run}", f"boot-img-{run}"
    kafka = service_env["kafka_bootstrap_servers"]
    boot = tmp_path / "boot"
    build_bootstrap(boot, dataset="digits", kind="pixels", seed_size=100, seed=0)
    catalog = tmp_path / "datasets.yaml"
    digits = ", ".join(f'"{d}"' for d in range(10))
    catalog.write_text(
        f"datasets:\n  {dataset}:\n    input_kind: image\n    labels: [{digits}]\n"
        f"    model: {boot}\n"
    )
    settings = Settings(
        **(service_env | {"datasets_file": catalog}),
        artifact_dir=tmp_path / "artifacts",
        min_labels=100,
        min_per_class=2,
        retrain_every=150,
        min_holdout=15,
        promotion_margin=-1.0,
        poll_interval_s=0.5,
    )
    examples = bootstrap_splits("digits", 100, 0, images=True).pool.examples[:ITEMS]
    items = [
        ItemIngested(
            event_id=f"ingested-{run}-{n}",
            dataset=dataset,
            item_id=f"{run}-{n}",
            external_id=f"scan-{n}",
            batch_id="b1",
            content=ItemContent(image=base64.b64encode(e.image or b"").decode()),
        )
        for n, e in enumerate(examples)
    ]
    labels = [
        Label(
            event_id=f"label-{run}-{n}",
            dataset=dataset,
            item_id=f"{run}-{n}",
            label=e.label,
            source="annotator",
            action="confirm",
            annotator="ada",
            suggested_label=e.label,
            model_version=champion,
        )
        for n, e in enumerate(examples)
    ]
    announced = announced_champion(dataset, champion, boot)
    _, announcements = await retrain(create_app(settings), kafka, announced, items, labels)
    assert [e.status for e in announcements] == ["champion", "candidate", "champion"]
    version = announcements[1].model_version
    assert version.startswith(f"{dataset}-pixels-t")
    model = load_model(bundle_path(announcements[1].bundle_uri))
    assert model.manifest.kind == "pixels-logreg" and model.manifest.image_size == 8
    trained = model.manifest.training["trainer"]
    assert trained["champion"]["version"] == champion and trained["holdout_items"] >= 15
    assert model.manifest.metrics["holdout_accuracy"] > 0.8
    probabilities = model.predict([examples[0].image or b""]).probabilities
    assert probabilities.shape == (1, 10)
