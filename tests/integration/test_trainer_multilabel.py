"""The trainer on a multi-label vector dataset against the real broker and Postgres, on real
MULAN Yeast rows: it keeps the vectors, dead-letters a label set with a label outside the
dataset, and once enough label sets are verified retrains the one-vs-rest head, compares it
with the announced champion on held-out label decisions (margin -1: it wins) and announces it
candidate then champion; its bundle loads and scores the vectors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from mitl_contracts.events import (
    ItemContent,
    ItemIngested,
    Label,
    label_set_key,
)
from mitl_ml.artifacts import bundle_path
from mitl_ml.manifest import write_bundle
from mitl_ml.multilabel_data import load_yeast
from mitl_ml.ovr import train_vector_ovr
from mitl_ml.runtime import load_model

from tests.integration.retraining import announced_champion, retrain

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "trainer"))
from mitl_trainer.app import create_app
from mitl_trainer.core.split import in_holdout
from mitl_trainer.settings import Settings

pytestmark = pytest.mark.integration
ITEMS = 160
HOLDOUT_FRACTION = 0.2
CHAMPION_ROWS = 200
# Training rows taken first for each label, so that every label (Class14 is rare) trains.
PER_LABEL = 4


def rows(
    sets: list[list[str]], labels: tuple[str, ...], trains: Callable[[int], bool]
) -> list[int]:
    """ITEMS row numbers outside the champion's rows: PER_LABEL holding each label on the
    training side (`trains`: the trainer's split of the item made of the row), then the first
    others."""
    usable = range(len(sets) - CHAMPION_ROWS)
    picked: list[int] = []
    for label in labels:
        picked += [n for n in usable if label in sets[n] and trains(n) and n not in picked][
            :PER_LABEL
        ]
    picked += [n for n in usable if n not in picked][: ITEMS - len(picked)]
    return picked[:ITEMS]


async def test_verified_label_sets_retrain_the_one_vs_rest_head(
    service_env: dict, tmp_path: Path
) -> None:
    # A fixed name (the session's broker and database are its own): the trainer's holdout
    # split hashes the dataset and item ids, so a random name drew a new 30-odd-item holdout
    # each run, and its label-decision accuracy swung around the 0.7 asserted below.
    run = "yeast-rows"
    dataset, champion = f"trainer-ml-{run}", f"boot-ml-{run}"
    kafka = service_env["kafka_bootstrap_servers"]
    yeast = load_yeast()
    sets = yeast.label_sets()
    boot = tmp_path / "boot"
    manifest, files = train_vector_ovr(
        yeast.x[-CHAMPION_ROWS:],
        sets[-CHAMPION_ROWS:],
        yeast.labels,
        seed=0,
        name="boot-ovr",
        version=champion,
        dataset=dataset,
    )
    write_bundle(boot, manifest, files)
    chosen = rows(
        sets, yeast.labels, lambda n: not in_holdout(dataset, f"{run}-{n}", HOLDOUT_FRACTION)
    )
    catalog = tmp_path / "datasets.yaml"
    catalog.write_text(
        f"datasets:\n  {dataset}:\n    task: multilabel\n    input_kind: vector\n"
        f"    vector_dim: {yeast.x.shape[1]}\n    labels: [{', '.join(yeast.labels)}]\n"
        f"    model: {boot}\n"
    )
    settings = Settings(
        **(service_env | {"datasets_file": catalog}),
        artifact_dir=tmp_path / "artifacts",
        min_labels=100,
        min_per_class=1,
        retrain_every=150,
        min_holdout=15,
        promotion_margin=-1.0,
        poll_interval_s=0.5,
        holdout_fraction=HOLDOUT_FRACTION,
    )
    items = [
        ItemIngested(
            event_id=f"ingested-{run}-{n}",
            dataset=dataset,
            item_id=f"{run}-{n}",
            external_id=f"gene-{n}",
            batch_id="b1",
            content=ItemContent(vector=[float(v) for v in yeast.x[n]]),
        )
        for n in chosen
    ]

    def label(n: int, labels: list[str], event_id: str) -> Label:
        return Label(
            event_id=event_id,
            dataset=dataset,
            item_id=f"{run}-{n}",
            label=label_set_key(labels),
            labels=labels,
            source="annotator",
            action="correct",
            annotator="ada",
            model_version=champion,
        )

    labels = [label(n, sets[n], f"label-{run}-{n}") for n in chosen]
    bad = label(chosen[0], ["Class99"], f"label-{run}-bad")
    announced = announced_champion(dataset, champion, boot)
    reason, announcements = await retrain(
        create_app(settings), kafka, announced, items, labels, refused=bad
    )
    assert reason is not None
    assert "Class99" in reason
    assert [e.status for e in announcements] == ["champion", "candidate", "champion"]
    version = announcements[1].model_version
    assert version.startswith(f"{dataset}-ovr-t")
    model = load_model(bundle_path(announcements[1].bundle_uri))
    assert model.manifest.kind == "vector-ovr-onnx" and model.multilabel
    trained = model.manifest.training["trainer"]
    assert trained["champion"]["version"] == champion and trained["holdout_items"] >= 15
    assert trained["promotion"]["metric"] == "label_decision_accuracy"
    assert model.manifest.metrics["holdout_label_decision_accuracy"] > 0.7
    assert model.predict(yeast.x[:2]).probabilities.shape == (2, len(yeast.labels))
