"""Route only the items whose decision can matter this round; the result is the same.

Each round the loop scores every pending item, but only two kinds of decision change what
happens next: an item the router would accept or send to a calibration review (it leaves the
queue or jumps ahead of it), and the few items at the head of the queue that people label this
round. Every other item is reviewed later, its only trace the prediction a later model version
is compared with (escalation on a changed prediction). Building the events of the real router
core for all of them was most of a run's time (`mitl simulate` on 14,762 texts: tens of
thousands of pydantic events per round).

`route_round` therefore routes with the real core (SimRouter.route_all) exactly:
- the items the accept gate (mitl_policy.core.accept_gate, the core's own function) would
  accept or calibrate, whatever their place in the queue, and
- the `take` + SLACK items ranked first by the core's priority among the others,
and records the others' predictions (SimRouter.note) as the earlier ones. Without the
near-duplicate penalty an ordinary review's priority is its uncertainty alone, so the items
left out rank below every routed one: the first `take` of the queue, the accepted items and
every later escalation are what routing everything gives. With a diversity weight the
penalty depends on the order of all queued items, so everything is routed.
"""

from __future__ import annotations

import numpy as np
from mitl_policy.calibration import calibration_draw, rate_in_force
from mitl_policy.core import accept_gate
from mitl_policy.uncertainty import uncertainty

from mitl_ml.sim.router import RoutedItem, SimRouter

# Routed beyond `take`, so rounding in the events' float conversion never reorders the cut.
SLACK = 8


def route_round(
    router: SimRouter,
    items: np.ndarray,
    probabilities: np.ndarray,
    model_version: str,
    take: int,
) -> list[RoutedItem]:
    """The routed items that can matter when people label the `take` first of the queue."""
    policy = router.policy
    if policy.diversity_weight > 0 or len(items) <= take + SLACK:
        return router.route_all(items, probabilities, model_version)
    probs = probabilities / probabilities.sum(axis=1, keepdims=True)
    top = probs.argmax(axis=1)
    confidence = probs[np.arange(len(probs)), top]
    keep = _accepted_or_sampled(router, items, top, confidence, model_version)
    rest = np.flatnonzero(~keep)
    priority = np.array(
        [uncertainty([float(p) for p in probs[r]], policy.uncertainty) for r in rest]
    )
    ranked = rest[np.lexsort((items[rest], -priority))]
    keep[ranked[: take + SLACK]] = True
    skipped = np.flatnonzero(~keep)
    router.note(items[skipped], [router.labels[t] for t in top[skipped]], model_version)
    chosen = np.flatnonzero(keep)
    return router.route_all(items[chosen], probabilities[chosen], model_version)


def _accepted_or_sampled(
    router: SimRouter,
    items: np.ndarray,
    top: np.ndarray,
    confidence: np.ndarray,
    model_version: str,
) -> np.ndarray:
    """Which rows the core would accept or send to a calibration review: the accept gate
    (mitl_policy.core.accept_gate, the core's own function) per class, at the calibration
    rate the core uses for that class (adaptive with a budget), over whole arrays."""
    policy, thresholds = router.policy, router.thresholds
    keep = np.zeros(len(items), dtype=bool)
    floor = policy.min_accept_threshold
    for index, label in enumerate(router.labels):
        rows = np.flatnonzero(top == index)
        if len(rows) == 0:
            continue
        conf = confidence[rows]
        # A class's threshold does not depend on the confidence; an item under the floor is
        # never calibrated (confidence 1.0 clears the floor, so `calibrate` here is the
        # cold-start sample of a policy without calibration sampling).
        gate = accept_gate(label, 1.0, policy, thresholds, False)
        hit = conf >= floor if gate.calibrate else np.zeros(len(rows), dtype=bool)
        if gate.threshold is not None:
            hit |= conf >= gate.threshold
        rate = rate_in_force(thresholds, label, policy)
        if policy.learns_thresholds and rate > 0:
            drawn = np.flatnonzero(~hit & (conf >= floor))
            draws = [calibration_draw(str(items[rows[r]]), model_version) for r in drawn]
            hit[drawn[np.array(draws, dtype=float) < rate]] = True
        keep[rows] = hit
    return keep
