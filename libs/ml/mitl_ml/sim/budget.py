"""Budget mode: people label at most `budget` items in the order the router's queue gives.

The dataset is split (stratified, by seed) into a pool and a held-out part. Both arms start
from the same random `initial` labels; each round the head is retrained on every label so far
and scored on the held-out part, then `step` more items are labeled: for "strategy", the
highest-priority review requests the real router core gives the pool (uncertainty by the
policy's strategy, with the near-duplicate penalty); for "random", a random draw.

The random arm is the mean of `random_draws` independent draws (same start, same head, same
held-out part). One draw's accuracy at 1,600 TREC-6 labels has a standard deviation of
0.003-0.011 between draws, about what 300 more random labels add there, so against one draw
"labels the strategy needs to match random" moved by up to 250; the mean estimates what random
sampling reaches in expectation. Draw 0 is the order a single draw has always used.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from mitl_contracts.datasets import Policy
from sklearn.model_selection import train_test_split

from mitl_ml.sim.head import Head
from mitl_ml.sim.oracle import Oracle
from mitl_ml.sim.results import BudgetCurve
from mitl_ml.sim.router import SimRouter
from mitl_ml.sim.shortlist import route_round
from mitl_ml.sim.world import World

HELD_OUT_FRACTION = 0.2


def queue_only(policy: Policy) -> Policy:
    """The policy with nothing accepted, escalated or sampled for calibration: every item
    waits in the review queue, ordered by its priority (budget mode measures the order, not
    acceptance)."""
    return policy.model_copy(
        update={
            "target_precision": None,
            "accept_threshold": 1.0,
            "escalation_floor": 0.0,
            "spot_check_rate": 0.0,
            "escalate_on_model_change": False,
            "calibration_rate": 0.0,
        }
    )


def random_order(pool: np.ndarray, start: list[int], seed: int, draw: int) -> list[int]:
    """The pool minus the start labels, shuffled by (seed, draw)."""
    key = [seed, 5] if draw == 0 else [seed, 5, draw]
    started = set(start)
    return [int(i) for i in np.random.default_rng(key).permutation(pool) if int(i) not in started]


class _Scorer:
    """Trains the head on labeled items and scores it on the held-out part."""

    def __init__(self, world: World, held: np.ndarray, oracle: Oracle, seed: int) -> None:
        self.world, self.held, self.oracle, self.seed = world, held, oracle, seed

    def __call__(self, labeled: list[int], warm: Head | None = None) -> tuple[Head, float]:
        y = self.oracle.annotator_answers[labeled]
        x = self.world.x[labeled]
        head = Head(x, y, len(self.world.labels), self.seed, f"b{len(labeled)}", warm)
        predicted = head.predict_proba(self.world.x[self.held]).argmax(1)
        return head, float((predicted == self.world.truth[self.held]).mean())


def _sizes(initial: int, budget: int, step: int) -> list[int]:
    """Labels held at each retrain: initial, +step, ..., up to and including the budget."""
    sizes = list(range(initial, budget, step))
    return [*sizes, budget] if not sizes or sizes[-1] != budget else sizes


def budget_curves(
    world: World,
    policy: Policy,
    *,
    seed: int,
    budget: int,
    step: int,
    initial: int,
    oracle: Oracle,
    random_draws: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[BudgetCurve, BudgetCurve]:
    """(strategy curve, random curve) of held-out accuracy against labels spent; the random
    curve is the mean over `random_draws` draws. Each retrain starts from the previous one's
    weights; `progress(done, total)` counts retrains."""
    if random_draws < 1:
        raise ValueError(f"random_draws must be at least 1, got {random_draws}")
    pool, held = train_test_split(
        np.arange(len(world.truth)),
        test_size=HELD_OUT_FRACTION,
        random_state=seed,
        stratify=world.truth,
    )
    start = [int(i) for i in np.random.default_rng([seed, 4]).permutation(pool)[:initial]]
    score = _Scorer(world, held, oracle, seed)
    sizes = _sizes(initial, budget, step)

    strategy = BudgetCurve("strategy", world.name, seed)
    router = SimRouter(world.name, world.labels, queue_only(policy), world.texts)
    labeled = list(start)
    total, done_fits = len(sizes) * (1 + random_draws), 0

    def tick() -> None:
        nonlocal done_fits
        done_fits += 1
        if progress is not None:
            progress(done_fits, total)

    head, accuracy = score(labeled)
    for size in sizes:
        if size > len(labeled):
            done = set(labeled)
            rest = np.array([i for i in pool if int(i) not in done])
            want = size - len(labeled)
            routed = route_round(
                router, rest, head.predict_proba(world.x[rest]), head.version, want
            )
            routed.sort(key=lambda e: (-e.review_priority, e.item))
            labeled += [e.item for e in routed[:want]]
            head, accuracy = score(labeled, head)
        strategy.labels.append(len(labeled))
        strategy.accuracy.append(round(accuracy, 4))
        tick()

    draws = np.zeros((random_draws, len(sizes)))
    for draw in range(random_draws):
        order = random_order(pool, start, seed, draw)
        previous: Head | None = None
        for column, size in enumerate(sizes):
            previous, draws[draw, column] = score(start + order[: size - len(start)], previous)
            tick()
    random = BudgetCurve("random", world.name, seed, list(sizes))
    random.accuracy = [round(float(a), 4) for a in draws.mean(axis=0)]
    return strategy, random
