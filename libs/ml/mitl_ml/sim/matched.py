"""The loop at the Ground-Truth-style baseline's accuracy: labels compared at equal accuracy.

At their settings the loop and the baseline label at different points of the same trade-off:
accepting more items saves labels and, at equal precision, adds errors. So "fewer human labels
at the same or better final accuracy" is measured by running the loop again with stricter
accept floors (`min_accept_threshold`, from FLOORS above the policy's) and reporting the
loosest floor whose run reaches the baseline's final accuracy. Accuracy rises with the floor
(a stricter floor accepts fewer items and sends the rest to people), so the floor is found by
bisection: at most 4 reruns for the 9 floors instead of up to 9, each rerun a whole loop. When
the baseline labeled every item right (it accepted nothing and people make no mistakes), the
strictest floor is run first: if even it falls short, the answer is "none" after one rerun
instead of four.
Where accuracy does not rise with the floor, bisection may settle on a stricter floor than the
first that reaches it, which costs the loop labels: the report errs against the loop.

The other way round, a loop already at least as accurate as the baseline buys that accuracy
with labels: its guarantee is stricter than the accuracy asked for. It is then run again at
looser targets (`target_precision` LOOSER_BY under the policy's, in that order) and the loosest
is reported whose run still reaches the baseline's accuracy with accepted precision at or
above the policy's own target; the first looser target whose run falls short of either ends
the search (a fixed sequence, like the bound's: a later target that happens to pass after one
that did not is never taken). Each looser run learns its thresholds for its own target, with
the calibration budget that target gets (`loosen`). A looser run that needs more labels is
still reported: like the floors' bisection, the report errs against the loop.

Like budget mode's "labels the strategy needed to match random sampling", the floor is chosen
per seed with the ground truth: the figure answers "how many labels does the loop need for the
baseline's accuracy", not "which floor to deploy" (the baseline, too, is reported at the sample
size that needed the fewest labels). With the ground truth known, the search never picks the
cheapest of several runs that reach the accuracy: the floor is the only thing searched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from mitl_contracts.datasets import Policy

from mitl_ml.sim.results import CoverageResult

FLOORS = (0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 0.999)
# How far under the policy's target each looser target is, tried in this order.
LOOSER_BY = (0.01, 0.02, 0.03, 0.05, 0.08, 0.1)


@dataclass(frozen=True)
class Matched:
    """The loop run at `floor` and `target` (`reruns` extra runs to find it; 0: the loop as
    configured)."""

    floor: float
    result: CoverageResult
    reruns: int
    target: float | None = None


def at_accuracy(
    run: Callable[[Policy], CoverageResult],
    policy: Policy,
    loop: CoverageResult,
    correct: int,
    loosen: Callable[[float], Policy] | None = None,
) -> Matched | None:
    """The loop (`run` runs it under a policy) at the loosest floor whose run labels at least
    `correct` items right, found by bisection over FLOORS; None if the strictest floor does
    not reach it. If `loop`, its run under `policy`, already does: with `loosen` (the policy
    at a given target), the loosest target of the fixed sequence LOOSER_BY that still does
    at the policy's precision (`loosest_target`), else `loop`."""
    if loop.final_correct >= correct:
        if loosen is not None and policy.target_precision is not None:
            return loosest_target(run, policy, loop, correct, loosen)
        return Matched(policy.min_accept_threshold, loop, 0, policy.target_precision)
    floors = [f for f in FLOORS if f > policy.min_accept_threshold]
    tried: dict[int, CoverageResult] = {}

    def reaches(index: int) -> bool:
        floored = policy.model_copy(update={"min_accept_threshold": floors[index]})
        tried[index] = run(floored)
        return tried[index].final_correct >= correct

    low, high = 0, len(floors)  # the answer's index is in [low, high]; len(floors): none
    if correct >= loop.items and floors:
        # Every item right: only a run that accepts no wrong item gets there, most likely
        # none does; the strictest floor settles that in one rerun.
        if not reaches(len(floors) - 1):
            return None
        high = len(floors) - 1
    while low < high:
        middle = (low + high) // 2
        if reaches(middle):
            high = middle
        else:
            low = middle + 1
    if low == len(floors):
        return None
    return Matched(floors[low], tried[low], len(tried), policy.target_precision)


def loosest_target(
    run: Callable[[Policy], CoverageResult],
    policy: Policy,
    loop: CoverageResult,
    correct: int,
    loosen: Callable[[float], Policy],
) -> Matched:
    """The loop at the policy's target minus each of LOOSER_BY in turn, while its run labels
    at least `correct` items right with accepted precision at or above the policy's target;
    the last such run (`loop` itself if the first looser one falls short)."""
    target = float(policy.target_precision or 0.0)
    best = Matched(policy.min_accept_threshold, loop, 0, target)
    reruns = 0
    for step in LOOSER_BY:
        looser = round(target - step, 6)
        if looser <= 0:
            break
        result = run(loosen(looser))
        reruns += 1
        if result.final_correct < correct or result.accepted_precision < target:
            break
        best = Matched(policy.min_accept_threshold, result, reruns, looser)
    return replace(best, reruns=reruns)
