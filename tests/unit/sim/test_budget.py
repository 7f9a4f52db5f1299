"""Budget mode on a small synthetic world (seconds, no encoder): both arms start alike, the
strategy takes the router's highest priorities, and random sampling's curve is a mean of
independent draws."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from mitl_contracts.datasets import Policy
from mitl_ml.sim.budget import budget_curves, queue_only, random_order
from mitl_ml.sim.head import Head
from mitl_ml.sim.oracle import Oracle
from mitl_ml.sim.results import BudgetCurve
from mitl_ml.sim.router import SimRouter
from mitl_ml.sim.world import World
from mitl_policy.uncertainty import uncertainty
from sklearn.model_selection import train_test_split

from tests.unit.sim import fakes

POLICY = Policy(
    version="sim-budget",
    target_precision=0.9,
    uncertainty="margin",
    calibration_rate=0.5,
    spot_check_rate=0.1,
    escalation_floor=0.0,
)

# This module's world: 500 items, noisier than the default.
synthetic_world = partial(fakes.synthetic_world, n=500, noise=1.5)


def curves(world: World, **kwargs: int) -> tuple[BudgetCurve, BudgetCurve]:
    oracle = Oracle(world.truth, len(world.labels), 0.0, seed=0)
    settings = {"seed": 0, "budget": 170, "step": 30, "initial": 20} | kwargs
    return budget_curves(world, POLICY, oracle=oracle, **settings)


def test_queue_only_sends_every_item_to_review_by_uncertainty() -> None:
    """No acceptance, spot check or calibration sample may take items out of the queue or put
    them ahead of it: the queue's order is what budget mode measures."""
    world = synthetic_world(n=60)
    router = SimRouter(world.name, world.labels, queue_only(POLICY), world.texts)
    probabilities = np.tile([0.98, 0.01, 0.01], (60, 1))
    probabilities[::2] = [0.5, 0.3, 0.2]
    routed = router.route_all(np.arange(60), probabilities, "m1")
    assert {r.decision.route for r in routed} == {"review"}
    for r in routed:
        expected = uncertainty(list(probabilities[r.item]), "margin")
        assert r.review_priority == pytest.approx(expected)


def test_both_arms_start_from_the_same_labels_and_spend_the_budget_in_steps() -> None:
    strategy, random = curves(synthetic_world())
    assert strategy.labels == random.labels == [20, 50, 80, 110, 140, 170]
    assert strategy.accuracy[0] == random.accuracy[0]  # same start, same head, same held-out
    assert all(0.0 <= a <= 1.0 for a in strategy.accuracy + random.accuracy)


def test_a_budget_off_the_step_grid_ends_exactly_at_the_budget() -> None:
    strategy, random = curves(synthetic_world(), budget=100, step=30)
    assert strategy.labels == random.labels == [20, 50, 80, 100]


def test_random_curve_is_the_mean_of_its_draws() -> None:
    """Draw 0 is the single-draw curve, so with two draws 2 * mean - draw 0 is draw 1: a
    curve of accuracies that starts where every draw starts (the shared initial labels)."""
    world = synthetic_world()
    single = curves(world, random_draws=1)[1]
    two = curves(world, random_draws=2)[1]
    draw1 = 2 * np.array(two.accuracy) - np.array(single.accuracy)
    assert two.accuracy != single.accuracy
    assert draw1[0] == pytest.approx(single.accuracy[0], abs=1e-3)
    assert np.all((draw1 >= -1e-3) & (draw1 <= 1 + 1e-3))
    assert curves(world, random_draws=2)[1] == two  # seeded: reruns are identical


def test_random_draws_differ_but_never_relabel_the_start() -> None:
    pool = np.arange(100)
    start = [3, 5, 7]
    first, second = random_order(pool, start, 0, 0), random_order(pool, start, 0, 1)
    assert sorted(first) == sorted(second) == [i for i in range(100) if i not in start]
    assert first != second


def test_strategy_first_step_takes_the_most_uncertain_pool_items(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no near-duplicate penalty the first step is the pool's top margins under the head
    trained on the start labels (recomputed here without budget.py's bookkeeping); only those
    and the few after them are routed through the core (shortlist.py)."""
    world = synthetic_world()
    routed_items: list[np.ndarray] = []
    original = SimRouter.route_all

    def spy(self: SimRouter, items: np.ndarray, probabilities: np.ndarray, version: str) -> list:
        routed_items.append(np.asarray(items))
        return original(self, items, probabilities, version)

    monkeypatch.setattr(SimRouter, "route_all", spy)
    strategy, _ = curves(world, budget=50, step=30)
    assert strategy.labels == [20, 50] and len(routed_items) == 1

    pool, _ = train_test_split(
        np.arange(len(world.truth)), test_size=0.2, random_state=0, stratify=world.truth
    )
    start = [int(i) for i in np.random.default_rng([0, 4]).permutation(pool)[:20]]
    rest = np.array([i for i in pool if int(i) not in set(start)])
    head = Head(world.x[start], world.truth[start], 3, 0, "b20")
    scores = [uncertainty(list(p), "margin") for p in head.predict_proba(world.x[rest])]
    ranked = sorted(range(len(rest)), key=lambda r: (-scores[r], rest[r]))
    top = [int(rest[r]) for r in ranked[:30]]
    assert set(top) <= set(routed_items[0].tolist()) <= set(rest.tolist())
    assert len(routed_items[0]) < len(rest)
    # Retraining on start + top (from the previous head's weights) reproduces the strategy's
    # accuracy at 50 labels.
    again = Head(world.x[start + top], world.truth[start + top], 3, 0, "b50", head)
    held = np.setdiff1d(np.arange(len(world.truth)), pool)
    accuracy = float((again.predict_proba(world.x[held]).argmax(1) == world.truth[held]).mean())
    assert strategy.accuracy[1] == round(accuracy, 4)


def test_random_draws_must_be_positive() -> None:
    with pytest.raises(ValueError, match="random_draws"):
        curves(synthetic_world(), random_draws=0)
