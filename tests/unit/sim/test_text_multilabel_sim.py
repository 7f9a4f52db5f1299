"""The multi-label simulator on a text dataset (wnut16-types): the world holds the served text
kind's features (the embedding standardised beside TF-IDF n-grams, mitl_ml.text_ovr), and the
CLI reports `task: "multilabel"` with precision per label decision on a small slice.

The embeddings come from a pre-filled cache (deterministic unit vectors standing in for
MiniLM, so the test does not encode 2,394 tweets); the TF-IDF blocks are the real ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mitl_cli.main import main
from mitl_ml.sim.embeddings import texts_cache_path
from mitl_ml.sim.multilabel import (
    MULTILABEL_SIM_DATASETS,
    MultiOracle,
    full_coverage_multilabel,
    load_multi_world,
)
from mitl_ml.sim.runner import SimConfig
from mitl_ml.text_multilabel_data import load_wnut16_types
from mitl_ml.text_ovr import TEXT_OVR_C
from scipy import sparse

DATA = load_wnut16_types()


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """A cache holding stand-in embeddings for every wnut16-types text."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(DATA), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    np.save(texts_cache_path("wnut16-types", DATA.texts, tmp_path), vectors)
    return tmp_path


def test_the_text_world_holds_the_served_kinds_features(cache_dir: Path) -> None:
    assert "wnut16-types" in MULTILABEL_SIM_DATASETS
    world = load_multi_world("wnut16-types", cache_dir)
    assert sparse.issparse(world.x) and world.x.shape[0] == len(DATA)
    assert world.x.shape[1] > 384 and world.c == TEXT_OVR_C
    assert np.array_equal(world.truth, DATA.y) and world.labels == list(DATA.labels)
    block = world.x[:, :384].toarray()
    assert np.abs(block.mean(axis=0)).max() < 1e-6  # standardised, then / sqrt(384)
    assert block.std(axis=0) == pytest.approx(np.full(384, 1 / np.sqrt(384)), rel=1e-3)
    small = world.subset(300, 0)
    assert small.x.shape == (300, world.x.shape[1]) and small.c == world.c
    policy = SimConfig(dataset="wnut16-types", seeds=(0,), target=0.95).policy()
    loop = full_coverage_multilabel(
        small, policy, seed=0, retrain_every=50, initial=100,
        oracle=MultiOracle(small.truth, 0.0, 0),
    )  # fmt: skip
    assert loop.decisions_per_item == 10 and loop.human_labels + loop.model_labeled <= 300
    assert "accuracy.person" in loop.details


def test_cli_simulates_wnut16_types(capsys: pytest.CaptureFixture[str], cache_dir: Path) -> None:
    code = main(["simulate", "--dataset", "wnut16-types", "--limit", "300", "--json",
                 "--no-progress", "--no-match-gt", "--target", "0.95",
                 "--cache-dir", str(cache_dir)])  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["task"] == "multilabel" and report["label_decisions_per_item"] == 10
    assert report["items"] == 300 and report["dataset"] == "wnut16-types"
    for key in ("human_labels", "auto_precision", "final_accuracy", "baseline_gt_human_labels"):
        assert key in report
