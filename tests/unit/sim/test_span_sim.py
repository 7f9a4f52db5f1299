"""The span simulator: on a synthetic world where the model is sure exactly where it is
right, the loop accepts items at the target entity-level precision with fewer human labels
than the Ground-Truth-style baseline; the CLI reports `task: "spans"` with the usual keys."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mitl_cli.main import main
from mitl_contracts.spans import Span, spans_key
from mitl_ml.sim import runner
from mitl_ml.sim.runner import SimConfig
from mitl_ml.sim.spans import (
    SpanOracle,
    SpanWorld,
    full_coverage_spans,
    ground_truth_spans,
    review_all_spans,
)

TEXT = "Ada met Bob in Rome"


def synthetic_world(n: int = 1500, seed: int = 0) -> SpanWorld:
    """Half the items name Ada (a person) and Rome (a place), the others nobody. The model
    finds the truth, surely, on 90 % of items; on the rest it calls Bob a place, unsure, and
    is unsure that nothing is missing."""
    rng = np.random.default_rng(seed)
    named = rng.random(n) < 0.5
    wrong = rng.random(n) < 0.1
    truth, predicted, complete = [], [], []
    for has, bad in zip(named, wrong, strict=True):
        gold = [Span(start=0, end=3, label="person"), Span(start=15, end=19, label="place")]
        gold = gold if has else []
        truth.append(spans_key(gold))
        if bad:
            predicted.append([Span(start=8, end=11, label="place", confidence=0.55)])
            complete.append(0.5)
        else:
            predicted.append([s.model_copy(update={"confidence": 0.995}) for s in gold])
            complete.append(0.99)
    return SpanWorld(
        "synthetic", ["person", "place"], [TEXT] * n, np.array(truth, dtype=object),
        predicted, complete, "synthetic-spacy",
    )  # fmt: skip


def test_loop_accepts_at_target_with_fewer_labels_than_gt() -> None:
    world = synthetic_world()
    policy = SimConfig(dataset="synthetic", seeds=(0,), target=0.95).policy()
    oracle = SpanOracle(world.truth, 0.0, 0)
    loop = full_coverage_spans(world, policy, seed=0, retrain_every=50, initial=100, oracle=oracle)
    gt = ground_truth_spans(world, policy, seed=0, oracle=oracle)
    record = loop.as_dict()
    assert loop.auto_accepted > 0 and loop.accepted_spans
    assert record["accepted_precision"] >= 0.95
    assert loop.human_labels < gt.human_labels < len(world.truth)
    assert gt.accepted_spans and gt.accepted_precision >= 0.95
    assert record["final_accuracy"] >= 0.95
    assert "threshold.person" in loop.details and "threshold.:complete" in loop.details
    assert loop.details["final_entity_f1"] >= 0.95
    everyone = review_all_spans(world, policy, seed=0, oracle=oracle)
    assert everyone.human_labels == len(world.truth) and everyone.final_correct == len(world.truth)


def test_the_loop_reports_its_progress_each_round_and_at_the_end() -> None:
    world = synthetic_world(400)
    policy = SimConfig(dataset="synthetic", seeds=(0,), target=0.95).policy()
    heard: list[tuple[int, int]] = []
    loop = full_coverage_spans(
        world, policy, seed=0, retrain_every=50, initial=0,
        oracle=SpanOracle(world.truth, 0.0, 0), progress=lambda *p: heard.append(p),
    )  # fmt: skip
    assert len(heard) == loop.rounds + 1 and heard[-1] == (400, 400)
    settled = [done for done, total in heard if total == 400]
    assert settled == sorted(settled) and len(settled) == len(heard) and settled[0] == 0


def test_oracle_errors_drop_one_span() -> None:
    world = synthetic_world(400)
    oracle = SpanOracle(world.truth, 0.5, 1)
    changed = [
        (str(t), str(a))
        for t, a in zip(world.truth, oracle.annotator_answers, strict=True)
        if t != a
    ]
    assert changed and all(len(t.split("|")) == 2 and len(a.split("|")) == 1 for t, a in changed)
    assert oracle.expert(3) == world.truth[3]


def test_cli_reports_task_spans(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def load(name: str, cache_dir: Path) -> SpanWorld:
        assert name == "wnut16"
        return synthetic_world(600)

    monkeypatch.setattr(runner, "load_span_world", load)
    code = main(["simulate", "--dataset", "wnut16", "--json", "--no-progress", "--no-match-gt",
                 "--target", "0.95"])  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["task"] == "spans" and report["model"] == "spacy-ner"
    for key in (
        "human_labels",
        "human_fraction",
        "auto_accepted",
        "auto_precision",
        "final_accuracy",
        "baseline_gt_human_labels",
        "baseline_gt_final_accuracy",
        "accepted_spans",
    ):
        assert key in report
    assert report["items"] == 600
    assert main(["simulate", "--dataset", "wnut16", "--budget", "200", "--no-progress"]) == 2
