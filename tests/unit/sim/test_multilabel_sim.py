"""The multi-label simulator: on separable synthetic label sets the loop accepts items at the
target precision (counted per label decision) with fewer human labels than the
Ground-Truth-style baseline; on Yeast the CLI reports `task: "multilabel"` with the usual keys."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mitl_cli.main import main
from mitl_ml.multilabel_data import load_yeast
from mitl_ml.sim.multilabel import (
    MultiOracle,
    MultiWorld,
    full_coverage_multilabel,
    ground_truth_multilabel,
)
from mitl_ml.sim.runner import SimConfig


def separable_world(n: int = 1500, k: int = 3, seed: int = 0) -> MultiWorld:
    rng = np.random.default_rng(seed)
    truth = rng.random((n, k)) < 0.4
    x = np.where(truth, 3.0, -3.0) + rng.normal(0.0, 1.0, (n, k))
    return MultiWorld("synthetic", [f"L{j}" for j in range(k)], x.astype(np.float32), truth)


def test_loop_accepts_at_target_with_fewer_labels_than_gt() -> None:
    world = separable_world()
    policy = SimConfig(dataset="synthetic", seeds=(0,), target=0.95).policy()
    oracle = MultiOracle(world.truth, 0.0, 0)
    loop = full_coverage_multilabel(
        world, policy, seed=0, retrain_every=50, initial=100, oracle=oracle
    )
    gt = ground_truth_multilabel(world, policy, seed=0, oracle=oracle)
    record = loop.as_dict()
    assert loop.decisions_per_item == 3
    assert loop.auto_accepted > 0 and record["accepted_precision"] >= 0.95
    assert loop.human_labels < gt.human_labels
    assert loop.final_correct <= 3 * len(world.truth)
    assert "accuracy.L0" in loop.details and "threshold.L0" in loop.details


def test_oracle_errors_toggle_one_label() -> None:
    world = separable_world(200)
    oracle = MultiOracle(world.truth, 0.5, 1)
    differ = (oracle.annotator_answers != world.truth).sum(axis=1)
    assert set(np.unique(differ)) == {0, 1}
    assert np.array_equal(oracle.expert(3), world.truth[3])


def test_yeast_loads_with_its_label_sets() -> None:
    data = load_yeast()
    assert len(data) == 2417 and data.x.shape == (2417, 103) and len(data.labels) == 14
    assert 4.0 < data.y.sum(axis=1).mean() < 4.5


def test_cli_reports_task_multilabel(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--dataset", "yeast", "--limit", "300", "--json", "--no-progress",
                 "--no-match-gt", "--target", "0.95"])  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["task"] == "multilabel" and report["label_decisions_per_item"] == 14
    for key in (
        "human_labels",
        "human_fraction",
        "auto_accepted",
        "auto_precision",
        "final_accuracy",
        "baseline_gt_human_labels",
        "baseline_gt_final_accuracy",
    ):
        assert key in report  # fmt: skip
    assert report["items"] == 300


def test_cli_refuses_budget_for_multilabel(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--dataset", "yeast", "--budget", "200", "--no-progress"])
    assert code == 2
    assert "multi-label" in capsys.readouterr().err
