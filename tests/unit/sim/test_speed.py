"""What makes the simulator fast must not change what it computes: routing only the items
that can matter (shortlist.py) gives the run that routing everything gives; warm-started
heads fit the same problem; hybrid features stack the blocks; progress goes to stderr."""

from __future__ import annotations

import numpy as np
import pytest
from mitl_contracts.datasets import Policy
from mitl_ml.hybrid import HybridFeaturizer, hybrid_features
from mitl_ml.sim import coverage
from mitl_ml.sim.coverage import full_coverage
from mitl_ml.sim.head import Head
from mitl_ml.sim.oracle import Oracle
from mitl_ml.sim.router import RoutedItem, SimRouter
from mitl_ml.sim.world import with_model
from mitl_policy.calibration import learn_thresholds
from mitl_policy.verdicts import verdicts

from tests.unit.sim.fakes import synthetic_world


def _policy(**changes: object) -> Policy:
    base = {
        "version": "sim-speed",
        "target_precision": 0.9,
        "uncertainty": "margin",
        "spot_check_rate": 0.01,
        "spot_check_max_rate": 0.05,
        "escalation_floor": 0.0,
        "calibration_rate": 0.05,
        "min_accept_threshold": 0.6,
    }
    return Policy.model_validate(base | changes)


def _route_everything(
    router: SimRouter, items: np.ndarray, probabilities: np.ndarray, version: str, take: int
) -> list[RoutedItem]:
    return router.route_all(items, probabilities, version)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"calibration_rate": 0.0},
        {"uncertainty": "entropy", "escalation_floor": 0.4},
        # Adaptive calibration: the rate per class moves between 0.05 and 0.3 (the core's
        # rate, not the floor, decides which confident items are sampled).
        {"calibration_budget": 60, "calibration_max_rate": 0.3, "target_precision": 0.8},
        # With the queue cap: draws at the raised rate past the unspent budget are not queued.
        {
            "calibration_budget": 60,
            "calibration_max_rate": 0.3,
            "target_precision": 0.8,
            "calibration_queue_cap": True,
        },
        # A floor budget of 0: once the budget is spent a certified class draws nothing.
        {
            "calibration_budget": 60,
            "calibration_max_rate": 0.3,
            "target_precision": 0.8,
            "calibration_floor_budget": 0,
        },
    ],
)
def test_shortlist_routing_gives_the_run_full_routing_gives(
    monkeypatch: pytest.MonkeyPatch, changes: dict[str, object]
) -> None:
    world = synthetic_world(n=500, noise=0.9)
    policy = _policy(**changes)
    oracle = Oracle(world.truth, 3, 0.05, 0)
    fast = full_coverage(world, policy, seed=0, retrain_every=20, initial=30, oracle=oracle)
    monkeypatch.setattr(coverage, "route_round", _route_everything)
    slow = full_coverage(world, policy, seed=0, retrain_every=20, initial=30, oracle=oracle)
    assert fast.auto_accepted > 0 and fast.expert_labels > 0
    assert fast.as_dict() == slow.as_dict()


def test_warm_started_head_fits_the_same_problem() -> None:
    world = synthetic_world()
    first = Head(world.x[:200], world.truth[:200], 3, 0, "a")
    cold = Head(world.x[:300], world.truth[:300], 3, 0, "b")
    warm = Head(world.x[:300], world.truth[:300], 3, 0, "b", first)
    gap = np.abs(cold.predict_proba(world.x) - warm.predict_proba(world.x)).max()
    assert gap < 0.05  # both stop at LBFGS's tolerance, from different starts
    # A class the previous head never saw: a cold fit, not a shape error.
    only_two = np.flatnonzero(world.truth < 2)[:50]
    partial = Head(world.x[only_two], world.truth[only_two], 3, 0, "c")
    grown = Head(world.x[:100], world.truth[:100], 3, 0, "d", partial)
    assert grown.predict_proba(world.x[:5]).shape == (5, 3)


def test_hybrid_features_stack_embeddings_word_and_char_blocks() -> None:
    texts = ["Who wrote Hamlet ?", "How many feet in a mile ?", "Who is the author ?"] * 3
    embeddings = np.eye(9, 4, dtype=np.float32)
    features = HybridFeaturizer(texts)
    x = features.transform(texts, embeddings)
    assert x.shape == (9, 4 + features.width)
    assert np.allclose(x[:, :4].toarray(), embeddings)
    assert np.allclose(np.linalg.norm(x[:, 4:].toarray(), axis=1) ** 2, 2.0, atol=1e-5)
    with pytest.raises(ValueError, match="texts but"):
        hybrid_features(texts, embeddings[:3])


def test_with_model_turns_embeddings_into_hybrid_features() -> None:
    world = synthetic_world(n=50)
    hybrid = with_model(world, "hybrid")
    assert hybrid.x.shape[0] == 50 and hybrid.x.shape[1] > world.x.shape[1]
    assert with_model(world, "minilm") is world
    with pytest.raises(ValueError, match="unknown model"):
        with_model(world, "bert")


def test_verdicts_kept_per_decision_learn_what_all_outcomes_give(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SimRouter updates only the verdicts of decisions labeled since the last relearn; the
    thresholds are those mitl_policy.verdicts gives from every outcome, as the service has."""
    world = synthetic_world(n=500, noise=0.9)
    policy = _policy(calibration_budget=60, calibration_max_rate=0.3, target_precision=0.8)
    relearn = SimRouter.relearn
    compared: list[int] = []

    def checked(router: SimRouter) -> None:
        relearn(router)
        expected = learn_thresholds(verdicts(router.outcomes), router.labels, router.policy)
        assert router.thresholds == expected
        compared.append(len(router.outcomes))

    monkeypatch.setattr(SimRouter, "relearn", checked)
    oracle = Oracle(world.truth, 3, 0.05, 0)
    run = full_coverage(world, policy, seed=0, retrain_every=20, initial=30, oracle=oracle)
    assert run.auto_accepted > 0 and len(compared) == run.rounds and compared[-1] > 100


@pytest.mark.parametrize("cap", [True, False])
def test_the_queue_cap_keeps_raised_rate_calibration_labels_within_the_budget(cap: bool) -> None:
    """With the floor at 0 every calibration label is drawn at a raised rate: with the cap they
    never pass the budget, and the rounds they leave go to active learning; without it a
    version draws far more than a round labels, and the budget is overshot."""
    world = synthetic_world(n=600, noise=0.9)
    policy = _policy(
        calibration_rate=0.0, calibration_budget=40, calibration_max_rate=0.5,
        target_precision=0.8, calibration_queue_cap=cap,
    )  # fmt: skip
    oracle = Oracle(world.truth, 3, 0.0, 0)
    run = full_coverage(world, policy, seed=0, retrain_every=25, initial=30, oracle=oracle)
    if cap:
        assert 0 < run.calibration_labels <= 40
    else:
        assert run.calibration_labels == 50  # two rounds of 25, all calibration
