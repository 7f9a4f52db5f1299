"""The trainer on a span dataset against the real broker and Postgres, on real WNUT-16 tweets
and their entities: it keeps the tweets, dead-letters a span label it can never learn from,
and once enough span sets are verified trains a minilm-tagger candidate, compares it with the
announced tagger champion on held-out entity-level F1 (margin -1: it wins), announces it
candidate then champion, and its bundle serves spans."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from mitl_contracts.events import ItemContent, ItemIngested, Label
from mitl_contracts.spans import Span, spans_key
from mitl_ml.artifacts import bundle_path
from mitl_ml.manifest import write_bundle
from mitl_ml.runtime import load_model
from mitl_ml.span_data import WNUT16_LABELS, load_wnut16
from mitl_ml.tagger import train_tagger

from tests.integration.retraining import announced_champion, retrain

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "trainer"))
from mitl_trainer.app import create_app
from mitl_trainer.core.split import in_holdout
from mitl_trainer.settings import Settings

pytestmark = pytest.mark.integration
ITEMS = 160
CHAMPION_TWEETS = 100
HOLDOUT_FRACTION = 0.2
# Training tweets taken first for each entity label, so that every label (movie and
# sportsteam are rare) trains whichever items the trainer holds out.
PER_LABEL = 2


def tweets(span_sets: list[list[Span]], trains: Callable[[int], bool]) -> list[int]:
    """ITEMS tweet numbers outside the champion's: PER_LABEL holding each entity label on
    the training side (`trains`: the trainer's split of the item made of the tweet), then the
    first others."""
    usable = range(len(span_sets) - CHAMPION_TWEETS)
    picked: list[int] = []
    for label in WNUT16_LABELS:
        holding = [n for n in usable if any(s.label == label for s in span_sets[n])]
        picked += [n for n in holding if trains(n) and n not in picked][:PER_LABEL]
    picked += [n for n in usable if n not in picked][: ITEMS - len(picked)]
    return picked[:ITEMS]


async def test_verified_span_sets_train_a_tagger_champion(
    service_env: dict, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    dataset, champion = f"trainer-ner-{run}", f"boot-ner-{run}"
    kafka = service_env["kafka_bootstrap_servers"]
    data = load_wnut16()
    boot = tmp_path / "boot"
    manifest, files = train_tagger(
        data.texts[-CHAMPION_TWEETS:],
        data.spans[-CHAMPION_TWEETS:],
        WNUT16_LABELS,
        seed=0,
        name="boot-tagger",
        version=champion,
        dataset=dataset,
    )
    write_bundle(boot, manifest, files)
    catalog = tmp_path / "datasets.yaml"
    catalog.write_text(
        f"datasets:\n  {dataset}:\n    task: spans\n    labels: [{', '.join(WNUT16_LABELS)}]\n"
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
    chosen = tweets(data.spans, lambda n: not in_holdout(dataset, f"{run}-{n}", HOLDOUT_FRACTION))
    items = [
        ItemIngested(
            event_id=f"ingested-{run}-{n}",
            dataset=dataset,
            item_id=f"{run}-{n}",
            external_id=f"tweet-{n}",
            batch_id="b1",
            content=ItemContent(text=data.texts[n]),
        )
        for n in chosen
    ]
    labels = [
        Label(
            event_id=f"label-{run}-{n}",
            dataset=dataset,
            item_id=f"{run}-{n}",
            label=spans_key(data.spans[n]),
            spans=data.spans[n],
            source="annotator",
            action="correct",
            annotator="ada",
            model_version=champion,
        )
        for n in chosen
    ]
    alien = [Span(start=0, end=2, label="planet")]
    bad = Label(
        event_id=f"label-{run}-bad",
        dataset=dataset,
        item_id=f"{run}-{chosen[0]}",
        label=spans_key(alien),
        spans=alien,
        source="annotator",
        action="correct",
        annotator="ada",
        model_version=champion,
    )
    announced = announced_champion(dataset, champion, boot)
    reason, announcements = await retrain(
        create_app(settings), kafka, announced, items, labels, refused=bad, timeout=300
    )
    assert reason is not None
    assert "planet" in reason and "not one of the dataset's labels" in reason
    assert [e.status for e in announcements] == ["champion", "candidate", "champion"]
    version = announcements[1].model_version
    assert version.startswith(f"{dataset}-tagger-t")
    model = load_model(bundle_path(announcements[1].bundle_uri))
    assert model.manifest.kind == "minilm-tagger"
    trained = model.manifest.training["trainer"]
    assert trained["champion"]["version"] == champion and trained["holdout_items"] >= 15
    assert trained["promotion"]["metric"] == "entity_f1"
    assert "champion_holdout_entity_f1" in model.manifest.metrics
    assert model.manifest.metrics["train_entity_f1"] > 0.5
    out = model.predict(["Justin Bieber is playing in London tonight"])
    assert out.spans is not None and out.spans_complete is not None
    assert all(s.label in WNUT16_LABELS for s in out.spans[0])
