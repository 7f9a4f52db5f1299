"""The loop simulator on a small synthetic world (seconds, no encoder): full coverage, the
baselines, budget mode, the embedding cache and the people it simulates."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from mitl_contracts.datasets import Policy
from mitl_ml.datasets import Example, LabeledData
from mitl_ml.sim import embeddings
from mitl_ml.sim.baselines import ground_truth_style, review_all
from mitl_ml.sim.budget import budget_curves
from mitl_ml.sim.coverage import full_coverage
from mitl_ml.sim.matched import FLOORS, LOOSER_BY, at_accuracy
from mitl_ml.sim.oracle import Oracle
from mitl_ml.sim.results import CoverageResult
from mitl_ml.sim.runner import SimConfig
from pydantic import ValidationError

from tests.unit.sim.fakes import CountingEncoder, synthetic_world

POLICY = Policy(
    version="sim-test",
    target_precision=0.9,
    uncertainty="margin",
    diversity_weight=0.5,
    spot_check_rate=0.01,
    spot_check_max_rate=0.05,
    escalation_floor=0.0,
)


def test_rounds_grow_with_the_labels_when_asked() -> None:
    world = synthetic_world()
    oracle = Oracle(world.truth, 3, 0.0, seed=0)
    fixed = full_coverage(world, POLICY, seed=0, retrain_every=10, initial=30, oracle=oracle)
    grown = full_coverage(
        world, POLICY, seed=0, retrain_every=10, initial=30, oracle=oracle, retrain_growth=0.5
    )
    for run in (fixed, grown):
        assert run.human_labels + run.model_labeled == run.items
    # Each round takes at least half the labels so far: the labels grow geometrically, so
    # there are far fewer rounds (retrains) than at a fixed 10 per round.
    assert grown.rounds < fixed.rounds
    assert grown.rounds <= 2 + math.ceil(math.log(grown.human_labels / 30) / math.log(1.5))


def test_full_coverage_labels_everything_and_keeps_the_precision_target() -> None:
    world = synthetic_world()
    oracle = Oracle(world.truth, 3, 0.0, seed=0)
    run = full_coverage(world, POLICY, seed=0, retrain_every=40, initial=30, oracle=oracle)
    again = full_coverage(world, POLICY, seed=0, retrain_every=40, initial=30, oracle=oracle)
    assert run == again  # seeded runs are reproducible
    assert run.human_labels + run.model_labeled == run.items
    assert 0 < run.model_labeled and run.human_labels < run.items
    assert run.accepted_precision >= 0.9
    assert run.final_correct / run.items >= run.accepted_precision


def test_baselines_label_everything() -> None:
    world = synthetic_world()
    oracle = Oracle(world.truth, 3, 0.0, seed=0)
    everything = review_all(world, POLICY, seed=0, oracle=oracle)
    assert everything.human_labels == 600 and everything.final_correct == 600
    gt = ground_truth_style(world, POLICY, seed=0, oracle=oracle)
    assert gt.human_labels + gt.model_labeled == 600
    assert gt.details["sample_size"] in (250, 500)


def test_budget_mode_spends_at_most_the_budget_in_steps() -> None:
    world = synthetic_world()
    oracle = Oracle(world.truth, 3, 0.0, seed=0)
    strategy, random = budget_curves(
        world, POLICY, seed=0, budget=200, step=50, initial=20, oracle=oracle
    )
    assert strategy.labels == random.labels == [20, 70, 120, 170, 200]
    assert all(0.0 <= a <= 1.0 for a in strategy.accuracy + random.accuracy)
    reached = strategy.labels_to_reach(random.accuracy_at(200))
    assert reached is None or reached <= 200


def test_oracle_errs_at_its_rate_and_experts_do_not() -> None:
    truth = np.arange(10_000) % 4
    oracle = Oracle(truth, 4, 0.1, seed=1)
    wrong = np.mean(oracle.annotator_answers != truth)
    assert 0.08 < wrong < 0.12
    assert all(oracle.expert(i) == truth[i] for i in range(100))
    with pytest.raises(ValueError, match="error_rate"):
        Oracle(truth, 4, 1.0, seed=1)


def test_embeddings_are_computed_once_and_cached(tmp_path: Path) -> None:
    data = LabeledData("tiny", "text", ("x", "y"), (Example("x", "a"), Example("y", "b")))
    encoder = CountingEncoder()
    first = embeddings.dataset_embeddings(data, tmp_path, encoder)  # type: ignore[arg-type]
    second = embeddings.dataset_embeddings(data, tmp_path, encoder)  # type: ignore[arg-type]
    assert encoder.calls == 1 and np.array_equal(first, second)
    assert embeddings.cache_path(data, tmp_path).exists()


def test_sim_policy_is_validated_like_any_policy() -> None:
    with pytest.raises(ValidationError, match="target_precision"):
        SimConfig(dataset="sms_spam", seeds=(0,), target=1.5).policy()


def test_cli_parses_the_simulate_command() -> None:
    from mitl_cli.commands.simulate import run
    from mitl_cli.main import build_parser

    args = build_parser().parse_args(
        ["simulate", "--dataset", "sms_spam", "--seeds", "0,1,2", "--budget", "1600", "--json"]
    )
    assert args.func is run and args.budget == 1600 and args.seeds == "0,1,2"


def test_full_coverage_with_a_calibration_sample_keeps_the_target() -> None:
    world = synthetic_world()
    oracle = Oracle(world.truth, 3, 0.0, seed=0)
    policy = POLICY.model_copy(update={"calibration_rate": 0.05})
    run = full_coverage(world, policy, seed=0, retrain_every=40, initial=30, oracle=oracle)
    assert run.human_labels + run.model_labeled == run.items
    assert 0 < run.model_labeled
    assert run.accepted_precision >= 0.9


def test_matching_gt_accuracy_bisects_the_stricter_floors() -> None:
    world = synthetic_world()
    oracle = Oracle(world.truth, 3, 0.0, seed=0)
    policy = POLICY.model_copy(update={"min_accept_threshold": 0.5})
    runs: list[float] = []
    results: dict[float, CoverageResult] = {}

    def run(p: Policy) -> CoverageResult:
        runs.append(p.min_accept_threshold)
        result = full_coverage(world, p, seed=0, retrain_every=40, initial=30, oracle=oracle)
        results[p.min_accept_threshold] = result
        return result

    loop = run(policy)
    # Already as accurate: the loop itself, no rerun.
    same = at_accuracy(run, policy, loop, loop.final_correct)
    assert same is not None and same.result is loop and same.reruns == 0 and len(runs) == 1
    # One more correct item than the loop got: stricter floors, bisected; the loosest floor
    # tried whose run reaches it is reported, and every looser floor tried fell short.
    wanted = loop.final_correct + 1
    matched = at_accuracy(run, policy, loop, wanted)
    tried = runs[1:]
    assert all(f > 0.5 for f in tried) and len(tried) <= math.ceil(math.log2(len(FLOORS) + 1))
    if matched is None:
        assert FLOORS[-1] in tried and results[FLOORS[-1]].final_correct < wanted
    else:
        assert matched.result.final_correct >= wanted and matched.reruns == len(tried)
        assert matched.result is results[matched.floor]
        assert all(results[f].final_correct < wanted for f in tried if f < matched.floor)
        # The next looser floor was tried and fell short (or there is none above the policy's).
        looser = [f for f in FLOORS if 0.5 < f < matched.floor]
        assert not looser or looser[-1] in tried
    # Nothing can reach more correct items than there are: the strictest floor is tried
    # first, and its shortfall ends the search after that one rerun.
    runs.clear()
    assert at_accuracy(run, policy, loop, len(world.truth) + 1) is None
    assert runs == [FLOORS[-1]]


def outcome(target: float, correct: int, accepted: int, accepted_correct: int) -> CoverageResult:
    """A made-up run of 100 items under `target`."""
    result = CoverageResult("loop", "made-up", 0, target, 100, human_labels=100 - accepted)
    result.final_correct, result.auto_accepted = correct, accepted
    result.accepted_correct = accepted_correct
    return result


def test_a_loop_more_accurate_than_gt_is_run_at_looser_targets_while_they_hold() -> None:
    """The fixed sequence: each looser target in turn, the last whose run reaches the accuracy
    at the policy's own precision is reported, and the first that falls short ends it."""
    targets = [round(0.9 - step, 6) for step in LOOSER_BY]
    made = {  # target -> (items right, accepted, accepted right)
        targets[0]: (97, 50, 49),  # holds
        targets[1]: (96, 60, 58),  # holds: the answer
        targets[2]: (94, 70, 66),  # under the accuracy asked (95): the search ends here
        targets[3]: (99, 80, 80),  # would hold, but comes after a failure: never run
    }
    asked: list[float] = []

    def run(p: Policy) -> CoverageResult:
        assert p.target_precision is not None
        asked.append(p.target_precision)
        return outcome(p.target_precision, *made[p.target_precision])

    def loosen(target: float) -> Policy:
        return POLICY.model_copy(update={"target_precision": target})

    loop = outcome(0.9, 98, 40, 40)
    matched = at_accuracy(run, POLICY, loop, 95, loosen)
    assert matched is not None and asked == targets[:3]
    assert matched.target == targets[1] and matched.reruns == 3
    assert matched.result.human_labels == 40 and matched.floor == POLICY.min_accept_threshold
    # Accepted precision under the policy's target (0.9) ends it too: the loop itself.
    made[targets[0]] = (99, 50, 44)
    asked.clear()
    matched = at_accuracy(run, POLICY, loop, 95, loosen)
    assert matched is not None and asked == targets[:1]
    assert matched.result is loop and matched.target == 0.9 and matched.reruns == 1
    # Without `loosen`, or short of the accuracy, no looser target is tried.
    asked.clear()
    assert at_accuracy(run, POLICY, loop, 95).result is loop  # type: ignore[union-attr]
    assert asked == []


def test_adaptive_calibration_certifies_and_reports_its_labels_apart() -> None:
    world = synthetic_world()
    oracle = Oracle(world.truth, 3, 0.0, seed=0)
    policy = Policy(
        version="sim-test",
        target_precision=0.9,
        escalation_floor=0.0,
        spot_check_rate=0.01,
        spot_check_max_rate=0.05,
        calibration_rate=0.01,
        calibration_max_rate=0.5,
        calibration_budget=100,
    )
    run = full_coverage(world, policy, seed=0, retrain_every=40, initial=30, oracle=oracle)
    assert run.human_labels + run.model_labeled == run.items
    assert run.certified_at is not None and run.certified_at < run.human_labels
    assert 0 < run.calibration_labels and run.initial_labels == 30
    split = run.initial_labels + run.calibration_labels + run.spot_checks + run.review_labels
    assert split == run.human_labels and run.review_labels >= 0
    assert run.accepted_precision >= 0.9
    if run.spot_checks:
        assert run.precision_intervals is not None
        assert run.as_dict()["review_labels"] == run.review_labels


def test_a_floor_budget_stops_the_floor_draws_after_the_certificate() -> None:
    """Every round rescores the pending pool with a new model version, and each version draws
    its own floor sample; with a floor budget of 0 a certified dataset draws no more once the
    budget is spent (an uncertified one still draws at the floor until it is certified). Where
    later versions are better, that evidence is what lowered the thresholds."""
    world = synthetic_world(n=3000)
    oracle = Oracle(world.truth, 3, 0.0, seed=0)
    unbounded = Policy(
        version="sim-test",
        target_precision=0.9,
        escalation_floor=0.0,
        spot_check_rate=0.01,
        spot_check_max_rate=0.05,
        calibration_rate=0.05,
        calibration_max_rate=0.5,
        calibration_budget=60,
    )
    priced = unbounded.model_copy(update={"calibration_floor_budget": 0})
    runs = {
        name: full_coverage(world, policy, seed=0, retrain_every=40, initial=30, oracle=oracle)
        for name, policy in (("unbounded", unbounded), ("priced", priced))
    }
    for run in runs.values():
        assert run.certified_at is not None and run.accepted_precision >= 0.9
    priced, unbounded_run = runs["priced"], runs["unbounded"]
    assert priced.calibration_labels < unbounded_run.calibration_labels
    # The price: no fresh evidence from the better later versions, so the thresholds stay
    # where the early versions' sample put them, and more items go to people (here 1,774
    # labels against 1,231; on SMS spam at 0.95 the floor budget saved labels instead).
    for label in ("a", "b", "c"):
        key = f"threshold.{label}"
        assert priced.details[key] > unbounded_run.details[key]
    assert priced.human_labels > unbounded_run.human_labels


def test_sim_policy_defaults_share_the_minimum_cap_the_queue_and_price_the_floor() -> None:
    policy = SimConfig(dataset="digits", seeds=(0,), target=0.95).policy()
    assert policy.min_verified_scope == "dataset" and policy.spot_check_evidence == "accepted"
    assert policy.class_min_verified(2) == 50 and policy.class_min_verified(10) == 10
    # Without calibration sampling there are no calibration verdicts to add.
    fixed = SimConfig(
        dataset="digits", seeds=(0,), target=0.95, calibration_rate=0.0, calibration_max_rate=0.0
    ).policy()
    assert fixed.spot_check_evidence == "spot_checks"
    # The queue cap and a floor budget of 0 by default.
    assert policy.calibration_queue_cap and policy.calibration_floor_budget == 0


def test_spot_checks_on_accepted_evidence_cost_fewer_labels_at_the_target() -> None:
    """On spot checks alone the share stays at its ceiling (a few dozen checks cannot bound
    precision above target + margin); with the calibration verdicts above the thresholds it
    falls to the base share while what is accepted is well above the target."""
    world = synthetic_world(n=3000)
    oracle = Oracle(world.truth, 3, 0.0, seed=0)
    alone = Policy(
        version="sim-test",
        target_precision=0.9,
        escalation_floor=0.0,
        spot_check_rate=0.005,
        spot_check_max_rate=0.05,
        calibration_rate=0.01,
        calibration_max_rate=0.5,
        calibration_budget=60,
    )
    pooled = alone.model_copy(update={"spot_check_evidence": "accepted"})
    runs = [
        full_coverage(world, policy, seed=0, retrain_every=40, initial=30, oracle=oracle)
        for policy in (alone, pooled)
    ]
    for run in runs:
        assert run.certified_at is not None and run.accepted_precision >= 0.9
    assert runs[1].spot_checks < runs[0].spot_checks
