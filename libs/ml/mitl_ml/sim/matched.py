"""The loop at the Ground-Truth-style baseline's accuracy: labels compared at equal accuracy.

At their settings the loop and the baseline label at different points of the same trade-off:
accepting more items saves labels and, at equal precision, adds errors. So "fewer human labels
at the same or better final accuracy" is measured by running the loop again with stricter
accept floors (`min_accept_threshold`, from FLOORS above the policy's, in rising order) and
reporting the first run whose final accuracy reaches the baseline's.

Like budget mode's "labels the strategy needed to match random sampling", the floor is chosen
per seed with the ground truth: the figure answers "how many labels does the loop need for the
baseline's accuracy", not "which floor to deploy" (the baseline, too, is reported at the sample
size that needed the fewest labels). With the ground truth known, the search never stops early
on a lucky run: it takes the first floor that reaches the accuracy, not the cheapest of many.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mitl_contracts.datasets import Policy

from mitl_ml.sim.results import CoverageResult

FLOORS = (0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 0.999)


@dataclass(frozen=True)
class Matched:
    """The loop run at `floor` (`reruns` extra runs to find it; 0: the loop as configured)."""

    floor: float
    result: CoverageResult
    reruns: int


def at_accuracy(
    run: Callable[[Policy], CoverageResult], policy: Policy, loop: CoverageResult, correct: int
) -> Matched | None:
    """The loop (`run` runs it under a policy) at the first floor whose run labels at least
    `correct` items right; `loop`, its run under `policy`, if it already does; None if no
    floor in FLOORS reaches it."""
    if loop.final_correct >= correct:
        return Matched(policy.min_accept_threshold, loop, 0)
    floors = [f for f in FLOORS if f > policy.min_accept_threshold]
    for reruns, floor in enumerate(floors, start=1):
        result = run(policy.model_copy(update={"min_accept_threshold": floor}))
        if result.final_correct >= correct:
            return Matched(floor, result, reruns)
    return None
