"""The trainer on a single-label vector dataset against the real broker and Postgres, on real
scikit-learn digits as 64-value vectors: it keeps the vectors, dead-letters a label outside the
label set, and once enough labels are verified retrains a head on the vectors (kind
vector-onnx), compares it with the announced champion on held-out accuracy (margin -1: it
wins) and announces it candidate then champion; its bundle loads and scores the vectors. And
`mitl retrain`, which asks the trainer for a model through its database and waits for it."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mitl_cli.main import main
from mitl_contracts import topics
from mitl_contracts.events import ItemContent, ItemIngested, Label
from mitl_ml.artifacts import bundle_path
from mitl_ml.manifest import write_bundle
from mitl_ml.runtime import load_model
from mitl_ml.train import train_vector_classifier
from sklearn.datasets import load_digits

from tests.integration.retraining import announced_champion, retrain
from tests.integration.test_trainer import publish
from tests.support import running_app, wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "trainer"))
from mitl_trainer.app import create_app
from mitl_trainer.settings import Settings

pytestmark = pytest.mark.integration
ITEMS = 200
CHAMPION_ROWS = 100
LABELS = [str(n) for n in range(10)]
DIGITS = load_digits()


@dataclass
class World:
    """A vector dataset of digits, its champion bundle, the trainer's settings, the items
    and their right labels."""

    dataset: str
    champion: str
    boot: Path
    catalog: Path
    settings: Settings
    items: list[ItemIngested]
    labels: list[Label]

    def label(self, n: int, value: str, event_id: str) -> Label:
        return Label(
            event_id=event_id,
            dataset=self.dataset,
            item_id=f"{self.dataset}-{n}",
            label=value,
            source="annotator",
            action="correct",
            annotator="ada",
            model_version=self.champion,
        )


def world(run: str, service_env: dict, tmp_path: Path, **settings: Any) -> World:
    # A fixed name per test (the session's broker and database are its own), so the holdout
    # split, which hashes the dataset and item ids, is the same every run.
    dataset, champion = f"trainer-vec-{run}", f"boot-vec-{run}"
    boot = tmp_path / "boot"
    manifest, files = train_vector_classifier(
        DIGITS.data[-CHAMPION_ROWS:].astype(np.float32),
        [str(y) for y in DIGITS.target[-CHAMPION_ROWS:]],
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
    chosen = Settings(
        **(service_env | {"datasets_file": catalog}),
        artifact_dir=tmp_path / "artifacts",
        min_labels=100,
        min_per_class=2,
        min_holdout=20,
        promotion_margin=-1.0,
        poll_interval_s=0.5,
        **settings,
    )
    items = [
        ItemIngested(
            event_id=f"ingested-{dataset}-{n}",
            dataset=dataset,
            item_id=f"{dataset}-{n}",
            external_id=f"digit-{n}",
            batch_id="b1",
            content=ItemContent(vector=[float(v) for v in DIGITS.data[n]]),
        )
        for n in range(ITEMS)
    ]
    made = World(dataset, champion, boot, catalog, chosen, items, [])
    made.labels = [
        made.label(n, str(DIGITS.target[n]), f"label-{dataset}-{n}") for n in range(ITEMS)
    ]
    return made


async def test_verified_labels_retrain_a_head_on_the_vectors(
    service_env: dict, tmp_path: Path
) -> None:
    w = world("digit-rows", service_env, tmp_path, retrain_every=ITEMS)
    dataset, champion, boot, digits = w.dataset, w.champion, w.boot, DIGITS
    kafka = service_env["kafka_bootstrap_servers"]
    settings, items, labels = w.settings, w.items, w.labels
    bad = w.label(0, "eleven", f"label-{dataset}-bad")
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


async def test_mitl_retrain_asks_waits_for_the_outcome_and_shows_the_status(
    service_env: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mitl retrain`: refused with the counts while the labels are too few; then asked, the
    trainer takes the request from the database and `--wait` prints the outcome (promoted at
    margin -1) with the held-out figures; asking again with the same labels is the same
    request; `--status` lists both."""
    # The labels never reach retrain_every: only the operator's ask trains.
    w = world("digit-ask", service_env, tmp_path, retrain_every=10_000)
    kafka = service_env["kafka_bootstrap_servers"]
    cli = ["retrain", w.dataset, "--datasets-file", str(w.catalog)]

    async def verified(count: int) -> None:
        def shown() -> bool:
            assert main([*cli, "--status", "--json"]) == 0
            return json.loads(capsys.readouterr().out)["verified_labels"] == count

        await asyncio.to_thread(wait_until, shown, 60, 0.5)

    env = {
        "MITL_DATABASE_URL": str(service_env["database_url"]),
        "MITL_MIN_LABELS": "100",
        "MITL_MIN_PER_CLASS": "2",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        async with running_app(create_app(w.settings)):
            await publish(kafka, topics.ITEMS_INGESTED, list(w.items))
            await publish(kafka, topics.MODELS, [announced_champion(w.dataset, w.champion, w.boot)])
            await publish(kafka, topics.LABELS, w.labels[:40])
            await verified(40)
            assert await asyncio.to_thread(main, cli) == 1
            assert (
                "has 40 verified labels with text; training needs at least 100"
                in capsys.readouterr().err
            )
            await publish(kafka, topics.LABELS, w.labels[40:])
            await verified(ITEMS)
            assert await asyncio.to_thread(main, [*cli, "--wait", "--timeout", "120"]) == 0
            first = capsys.readouterr().out
            assert await asyncio.to_thread(main, [*cli, "--wait", "--timeout", "120"]) == 0
            again = capsys.readouterr().out
            assert await asyncio.to_thread(main, [*cli, "--status"]) == 0
            status = capsys.readouterr().out
            assert await asyncio.to_thread(main, [*cli, "--wait", "--json"]) == 0
            answer = json.loads(capsys.readouterr().out)
    request = f"manual-{w.dataset}-{ITEMS}"
    assert f"asked: request {request} ({ITEMS} verified labels)" in first
    assert f"{request}: promoted: the candidate is the champion now" in first
    assert f"  model {w.dataset}-vector-t" in first
    assert "  held out (" in first and "items): accuracy 0.9" in first
    assert "  champion on the same items: accuracy " in first
    assert f"asked before, with the same labels: request {request} (champion)" in again
    assert f"{request}: promoted" in again
    assert f"{w.dataset}: {ITEMS} verified labels, 100 needed (ready to train)" in status
    assert f"  {request}  champion  {w.dataset}-vector-t" in status
    assert "promoted  accuracy 0.9" in status
    assert answer["request"]["request_id"] == request
    assert answer["request"]["outcome"] == "champion"
    assert answer["model"]["promoted"] and answer["model"]["metrics"]["holdout_accuracy"] > 0.9
    # An undeclared dataset is refused before any database is asked.
    assert main(["retrain", "nosuch", "--datasets-file", str(w.catalog)]) == 1
    assert "unknown dataset 'nosuch'" in capsys.readouterr().err
