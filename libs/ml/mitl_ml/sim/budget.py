"""Budget mode: people label at most `budget` items in the order the router's queue gives.

The dataset is split (stratified, by seed) into a pool and a held-out part. Both arms start
from the same random `initial` labels; each round the head is retrained on every label so far
and scored on the held-out part, then `step` more items are labeled: for "strategy", the
highest-priority review requests the real router core gives the pool (uncertainty by the
policy's strategy, with the near-duplicate penalty); for "random", a random draw.
"""

from __future__ import annotations

import numpy as np
from mitl_contracts.datasets import Policy
from sklearn.model_selection import train_test_split

from mitl_ml.sim.head import Head
from mitl_ml.sim.oracle import Oracle
from mitl_ml.sim.results import BudgetCurve
from mitl_ml.sim.router import SimRouter
from mitl_ml.sim.world import World

HELD_OUT_FRACTION = 0.2


def queue_only(policy: Policy) -> Policy:
    """The policy with nothing accepted or escalated: every item waits in the review queue,
    ordered by its priority (budget mode measures the order, not acceptance)."""
    return policy.model_copy(
        update={
            "target_precision": None,
            "accept_threshold": 1.0,
            "escalation_floor": 0.0,
            "spot_check_rate": 0.0,
            "escalate_on_model_change": False,
        }
    )


def budget_curves(
    world: World,
    policy: Policy,
    *,
    seed: int,
    budget: int,
    step: int,
    initial: int,
    oracle: Oracle,
) -> tuple[BudgetCurve, BudgetCurve]:
    """(strategy curve, random curve) of held-out accuracy against labels spent."""
    pool, held = train_test_split(
        np.arange(len(world.truth)),
        test_size=HELD_OUT_FRACTION,
        random_state=seed,
        stratify=world.truth,
    )
    rng = np.random.default_rng([seed, 4])
    start = list(rng.permutation(pool)[:initial])
    curves = []
    for method in ("strategy", "random"):
        curve = BudgetCurve(method, world.name, seed)
        labeled = list(start)
        router = SimRouter(world.name, world.labels, queue_only(policy), world.texts)
        shuffled = np.random.default_rng([seed, 5]).permutation(pool)
        random_order = [int(i) for i in shuffled if int(i) not in set(start)]
        while True:
            y = oracle.annotator_answers[labeled]
            head = Head(world.x[labeled], y, len(world.labels), seed, f"b{len(labeled)}")
            accuracy = float(
                (head.predict_proba(world.x[held]).argmax(1) == world.truth[held]).mean()
            )
            curve.labels.append(len(labeled))
            curve.accuracy.append(round(accuracy, 4))
            take = min(step, budget - len(labeled))
            if take <= 0:
                break
            done = set(labeled)
            if method == "random":
                spent = len(labeled) - len(start)
                labeled += random_order[spent : spent + take]
                continue
            rest = np.array([i for i in pool if i not in done])
            routed = router.route_all(rest, head.predict_proba(world.x[rest]), head.version)
            routed.sort(key=lambda e: (-e.review_priority, e.item))
            labeled += [e.item for e in routed[:take]]
        curves.append(curve)
    return curves[0], curves[1]
