"""Calibration reviews at raised rates, capped at the budget still unspent.

Before a class is certified its calibration rate is the ceiling (`calibration_max_rate`),
0.5 by default. A model version scores the whole pending pool (the platform re-scores it on
promotion, the simulator every round), so a version draws half of its confident predictions
for calibration reviews: far more than the budget still needs, and all of them ahead of every
active-learning review. People then label nothing but calibration reviews until the budget is
spent, and whatever was drawn past it is labeled too (three rounds of 50 for a budget of 104:
46 labels past the budget) by a head that learned little from those easy, confident items.

With `calibration_queue_cap` (off by default) the calibration reviews queued and not yet labeled
at raised rates never exceed the unspent budget (`calibration_budget` minus the calibration
verdicts so far, pooled over the classes in scope "dataset", per class in scope "class"). Of
the predictions drawn at a raised rate, those with the smallest draws keep their calibration
review while the cap allows; the others are routed as if not drawn (recorded at rate 0: not
in the sample), i.e. accepted or queued by uncertainty like any other prediction, so the rest
of each round goes to active learning.

Why the bound stays honest: the draw (`calibration_draw`, fixed by item id and model version)
is uniform and independent of content and confidence, and so is its rank among a version's
draws, so the drawn items with the smallest draws are a simple random sample of the version's
confident predictions. Which predictions are capped depends only on counts (budget, verdicts,
queued reviews), on draws and on the order predictions arrive in (the order items were
submitted or re-scored), never on what an item says or how confident the model is about it.
Draws at the floor rate are not capped (the floor budget prices them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mitl_contracts.datasets import Policy

from mitl_policy.calibration import (
    Thresholds,
    calibration_draw,
    in_calibration_sample,
    rate_in_force,
)


@dataclass(frozen=True)
class Candidate:
    """A prediction about to be routed: its item, model version, predicted label and
    confidence (what decides whether it is drawn)."""

    item_id: str
    model_version: str
    label: str
    confidence: float


def pool_of(label: str, policy: Policy) -> str:
    """The budget a class spends: its own in scope "class", the dataset's ("") otherwise."""
    return label if policy.precision_scope == "class" else ""


def unspent(thresholds: Thresholds | None, label: str, policy: Policy) -> int:
    """Calibration labels the budget still pays for at raised rates, for `label`'s pool."""
    budget = policy.calibration_budget or 0
    if thresholds is None:
        return budget
    if policy.precision_scope == "class":
        entry = thresholds.classes.get(label)
        sampled = entry.sampled if entry is not None else 0
    else:
        sampled = sum(entry.sampled for entry in thresholds.classes.values())
    return max(0, budget - sampled)


def raised(thresholds: Thresholds | None, label: str, policy: Policy) -> bool:
    """Is `label` drawn at a rate above the floor (where the cap applies)?"""
    if not (policy.calibration_budget and policy.calibration_queue_cap):
        return False
    return rate_in_force(thresholds, label, policy) > policy.calibration_rate


def over_cap(
    candidates: Sequence[Candidate],
    thresholds: Thresholds | None,
    policy: Policy,
    queued: Mapping[str, int] | None = None,
) -> tuple[list[bool], dict[str, int]]:
    """Which `candidates` (one dataset and model version) are drawn at a raised rate but find
    the unspent budget already queued: True routes them as if not drawn (rate 0). `queued`:
    calibration reviews already queued and not yet labeled, per pool (`pool_of`). Within the
    candidates, the smallest draws take the free places first. Returns the flags and the
    queued counts once these candidates are routed (for the next batch's candidates)."""
    flags = [False] * len(candidates)
    counts = dict(queued or {})
    drawn: list[tuple[float, str, int]] = []
    for index, candidate in enumerate(candidates):
        if not raised(thresholds, candidate.label, policy):
            continue
        rate = rate_in_force(thresholds, candidate.label, policy)
        item, version = candidate.item_id, candidate.model_version
        if in_calibration_sample(item, version, candidate.confidence, policy, rate):
            drawn.append((calibration_draw(item, version), item, index))
    for _, _, index in sorted(drawn):
        label = candidates[index].label
        pool = pool_of(label, policy)
        if counts.get(pool, 0) < unspent(thresholds, label, policy):
            counts[pool] = counts.get(pool, 0) + 1
        else:
            flags[index] = True
    return flags, counts


def queued_pools(by_label: Mapping[str, int], policy: Policy) -> dict[str, int]:
    """Calibration reviews queued and not yet labeled, per predicted label, summed per pool."""
    pools: dict[str, int] = {}
    for label, count in by_label.items():
        pool = pool_of(label, policy)
        pools[pool] = pools.get(pool, 0) + count
    return pools


def caps_any(thresholds: Thresholds | None, labels: Sequence[str], policy: Policy) -> bool:
    """Could the cap bind for this dataset and model version (some class at a raised rate)?
    Only then are the queued calibration reviews worth counting."""
    return any(raised(thresholds, label, policy) for label in labels)
