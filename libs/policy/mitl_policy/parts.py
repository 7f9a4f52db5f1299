"""Routing an item made of parts, each gated as a class of its own: pure.

A multi-label item's parts are its labels' in/out decisions (multilabel.py); a span item's are
its spans and the claim that none is missing (spans.py). Both route the same way: every part
must clear the accept threshold of its label; the item is drawn into the calibration sample by
its least certain part, at the highest calibration rate among its parts' labels; a cold label
asks for a calibration review only when the whole item could be accepted later. Only the
wording of the reasons differs. The escalation rules are read over the labels of the
item's parts (`part_escalation`). Verdicts on parts are counted in the calibration sample only
when their whole item was drawn (`part_calibration_rate`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from mitl_contracts.datasets import Policy
from mitl_contracts.events import Prediction

from mitl_policy.calibration import Thresholds, in_calibration_sample, initial_calibration_rate
from mitl_policy.core import (
    AcceptGate,
    Choice,
    RouteContext,
    accept_gate,
    accepted_choice,
    calibration_priority,
)
from mitl_policy.escalation import class_segment, model_changed, regulated_or_outlier


class Part(Protocol):
    """One part of an item: the label its threshold is learned under, and its confidence."""

    @property
    def label(self) -> str: ...

    @property
    def confidence(self) -> float: ...


P = TypeVar("P", bound=Part)


def recorded_thresholds(
    gates: Sequence[tuple[Part, AcceptGate]], policy: Policy
) -> dict[str, float]:
    """The thresholds in force, per label (`accept_threshold.<label>`)."""
    recorded: dict[str, float] = {}
    for part, gate in gates:
        recorded |= {
            k: v for k, v in gate.recorded.items() if k not in ("accept_threshold", "lower_bound")
        }
        if gate.threshold is not None:
            recorded[f"accept_threshold.{part.label}"] = gate.threshold
    if not policy.learns_thresholds:
        recorded["accept_threshold"] = policy.accept_threshold
    return recorded


def part_gates(
    prediction: Prediction,
    parts: Sequence[P],
    policy: Policy,
    known: Thresholds | None,
    drift_active: bool,
    *,
    confidence: float,
) -> list[tuple[P, AcceptGate]]:
    """Each part with its accept gate; `confidence` is the item's (its least certain part's),
    which draws the item into the calibration sample."""
    if known is not None:
        rate = max(known.calibration_rate(p.label, policy) for p in parts)
    else:
        rate = initial_calibration_rate(policy)
    version = prediction.model_version
    sampled = in_calibration_sample(prediction.item_id, version, confidence, policy, rate)
    gates = [
        (
            p,
            accept_gate(
                p.label,
                p.confidence,
                policy,
                known,
                drift_active,
                sampled=sampled,
                calibration_rate=rate,
            ),
        )
        for p in parts
    ]
    if not sampled and any(g.calibrate for _, g in gates):
        # A cold label asks for a calibration review only when the whole item could be
        # accepted later (its least certain part is over the floor).
        if confidence < policy.min_accept_threshold:
            gates = [(p, replace(g, calibrate=False)) for p, g in gates]
    return gates


@dataclass(frozen=True)
class Elsewhere:
    """Why an item made of parts goes to an expert (`expert`), or to annotators for a model
    change the policy sends there (`review`); both None: its parts' gates decide."""

    expert: str | None = None
    review: str | None = None


def part_escalation(
    prediction: Prediction,
    policy: Policy,
    context: RouteContext,
    labels: Iterable[str],
    key: str,
    show: Callable[[str], str],
) -> Elsewhere:
    """The escalation rules of escalation.py read for an item made of parts: metadata,
    outlier score, a drift-flagged label among its parts' `labels`, a new model version
    predicting another set than `key` (`show` writes a set in the reason; to an expert or,
    with `model_change_queue: annotator`, to review)."""
    if (reason := regulated_or_outlier(prediction, policy)) is not None:
        return Elsewhere(expert=reason)
    for label in labels:
        if class_segment(label) in context.drift_segments:
            return Elsewhere(expert=f"drift monitor flags segment {class_segment(label)}")
    return Elsewhere(
        expert=model_changed(prediction, policy, context.earlier, key, show),
        review=model_changed(prediction, policy, context.earlier, key, show, queue="annotator"),
    )


def choose(
    prediction: Prediction,
    gates: Sequence[tuple[P, AcceptGate]],
    policy: Policy,
    *,
    priority: float,
    escalation: Elsewhere,
    below: Callable[[P, AcceptGate], str],
    accepted: Callable[[P, AcceptGate], str],
) -> Choice:
    """The route of an item from its parts' gates: escalate; else a calibration review; else
    review when a part has no threshold or is under it (`below` words the worst such part);
    else accept (`accepted` words the least certain part)."""
    recorded = recorded_thresholds(gates, policy)
    blocking = next((g for _, g in gates if g.threshold is None), None)
    under = [(p, g) for p, g in gates if g.threshold is not None and p.confidence < g.threshold]
    calibrating = next((g for _, g in gates if g.calibrate), None)
    if escalation.expert is not None:
        return Choice("escalate", escalation.expert, priority, recorded)
    if escalation.review is not None:  # a model change the policy sends to annotators
        return Choice("review", escalation.review, priority, recorded)
    if calibrating is not None:
        first = calibration_priority(prediction)
        return Choice("review", calibrating.why_not, first, recorded, calibration=True)
    if blocking is not None:
        return Choice("review", blocking.why_not, priority, recorded)
    if under:
        worst = min(under, key=lambda pg: pg[0].confidence - (pg[1].threshold or 0.0))
        return Choice("review", below(*worst), priority, recorded)
    weakest = min(gates, key=lambda pg: pg[0].confidence)
    rate = max(g.spot_check_rate for _, g in gates)
    return accepted_choice(prediction, accepted(*weakest), priority, recorded, rate)


def part_calibration_rate(
    item_id: str, model_version: str, weakest: float, policy: Policy, rate: float | None
) -> float | None:
    """The calibration rate every part verdict of an item carries: the decision's `rate` when
    the item was drawn into the sample by its least certain part's confidence `weakest` (as
    when it was routed), else 0, which keeps all its part verdicts out of the sample."""
    drawn = in_calibration_sample(item_id, model_version, weakest, policy, rate)
    return rate if drawn else 0.0
