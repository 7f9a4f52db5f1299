"""Full-coverage mode: label a whole dataset with the loop, as the platform would.

Every item is pending at the start (a dataset submitted as one batch). A random `initial`
sample is labeled by people to train the first head. Then, each round: retrain the head on
every human label so far, relearn the router's thresholds from every verified outcome, score
and route every pending item with the real router core; accepted items take the model's label
(spot-checked ones are labeled by a person as well, blind); people label the `retrain_every`
highest-priority queued items, or `retrain_growth` times the human labels so far where that is
more (experts label those escalated); repeat until nothing is pending.

Each round's head starts from the previous round's weights (head.py), and only the items whose
decision can matter are routed through the core (shortlist.py; the outcome is the same).
`progress(done, total)` is told after each round how many items are settled.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from mitl_contracts.datasets import Policy

from mitl_ml.sim.head import Head
from mitl_ml.sim.oracle import Oracle
from mitl_ml.sim.people import People
from mitl_ml.sim.results import CoverageResult
from mitl_ml.sim.router import SimRouter
from mitl_ml.sim.shortlist import route_round
from mitl_ml.sim.world import World


def full_coverage(
    world: World,
    policy: Policy,
    *,
    seed: int,
    retrain_every: int,
    initial: int,
    oracle: Oracle,
    retrain_growth: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
) -> CoverageResult:
    n = len(world.truth)
    result = CoverageResult("loop", world.name, seed, float(policy.target_precision or 0), n)
    order = np.random.default_rng([seed, 1]).permutation(n)
    final = np.full(n, -1)
    people = People(oracle, final, result, progress)
    pending = people.start(order, initial)
    router = SimRouter(world.name, world.labels, policy, world.texts)
    head: Head | None = None
    while pending:
        people.next_round(pending)
        version = f"sim-r{result.rounds}"
        done = people.trained
        head = Head(world.x[done], final[done], len(world.labels), seed, version, head)
        router.relearn()
        people.certify(router.thresholds)
        items = np.array(sorted(pending))
        probabilities = head.predict_proba(world.x[items])
        batch = people.batch(retrain_every, retrain_growth)
        routed = route_round(router, items, probabilities, head.version, batch)
        queue = []
        for entry in routed:
            decision = entry.decision
            if decision.route != "accept":
                queue.append(entry)
                continue
            predicted = world.labels.index(decision.predicted_label)
            pending.discard(entry.item)
            result.accepted_correct += int(predicted == world.truth[entry.item])
            people.accept(router, entry.item, decision, predicted)
        queue.sort(key=lambda e: (-e.review_priority, e.item))
        for entry in queue[:batch]:
            people.review(router, entry.item, expert=entry.decision.route == "escalate")
            pending.discard(entry.item)
    people.finish(world.truth, router.thresholds)
    return result
