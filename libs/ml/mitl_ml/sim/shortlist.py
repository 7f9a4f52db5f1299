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
from mitl_policy.calibration import in_calibration_sample
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
    # A class's accept threshold does not depend on the confidence; calibration needs at least
    # min_accept_threshold. Rows under both cannot be accepted or calibrated.
    floors = np.ones(len(router.labels))
    for index, label in enumerate(router.labels):
        threshold = accept_gate(label, 0.0, policy, router.thresholds, False).threshold
        floors[index] = min(policy.min_accept_threshold, 2.0 if threshold is None else threshold)
    keep = np.zeros(len(items), dtype=bool)
    for row in np.flatnonzero(confidence >= floors[top]):
        label, conf, item = router.labels[top[row]], float(confidence[row]), str(items[row])
        sampled = in_calibration_sample(item, model_version, conf, policy)
        gate = accept_gate(label, conf, policy, router.thresholds, False, sampled=sampled)
        keep[row] = gate.calibrate or (gate.threshold is not None and conf >= gate.threshold)
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
