"""The routing decision for multi-label items (a dataset with `task: multilabel`): pure.

A one-vs-rest model gives each label its own probability p. Each label is a binary decision:
in when p >= 0.5, else out, with confidence max(p, 1 - p). An item is accepted only when every
label's decision clears that label's accept threshold: the raw `accept_threshold`, or with a
`target_precision` the threshold learned for the label from per-label verdicts (calibration.py,
the same bound, scopes and calibration sample as single-label items). The item's confidence is
its least certain label's, which also decides calibration sampling; active learning ranks items
by the least certain label's uncertainty. Spot checks work as for single-label items.

Precision is counted per label decision: a verified item gives one verdict per label (was the
label rightly in or out?). The decisions of one item are not independent draws, so the bound
is a bound on the share of correct label decisions among items like those verified, read with
that in mind (docs/multilabel.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from mitl_contracts.datasets import Policy
from mitl_contracts.events import (
    LABEL_SET_SEPARATOR,
    Decision,
    Prediction,
    Route,
    label_set_key,
)

from mitl_policy.calibration import (
    Thresholds,
    Verdict,
    in_calibration_sample,
    initial_calibration_rate,
)
from mitl_policy.core import (
    CALIBRATION_PRIORITY,
    AcceptGate,
    RouteContext,
    Routed,
    accept_gate,
    effective_policy,
    unit_draw,
)
from mitl_policy.escalation import class_segment, model_changed, regulated_or_outlier
from mitl_policy.requests import accepted_label, item_of, review_request
from mitl_policy.uncertainty import uncertainty
from mitl_policy.verdicts import Outcome, verdicts

PRESENT_AT = 0.5


@dataclass(frozen=True)
class LabelDecision:
    """One label's in/out decision for an item."""

    label: str
    probability: float

    @property
    def present(self) -> bool:
        return self.probability >= PRESENT_AT

    @property
    def confidence(self) -> float:
        return max(self.probability, 1.0 - self.probability)


def label_decisions(per_label: Mapping[str, float], labels: Sequence[str]) -> list[LabelDecision]:
    """The decision for each of `labels`; ValueError names labels without a probability."""
    missing = [label for label in labels if label not in per_label]
    if missing:
        raise ValueError(
            f"multi-label prediction has no probability for label(s) {', '.join(missing)}"
        )
    return [LabelDecision(label, float(per_label[label])) for label in labels]


def least_certain(decisions: Sequence[LabelDecision]) -> LabelDecision:
    """The label decision closest to a coin flip (ties: the first label)."""
    return min(decisions, key=lambda d: d.confidence)


def priority_of(decisions: Sequence[LabelDecision], policy: Policy) -> float:
    """Active learning: the least certain label's uncertainty under the policy's strategy."""
    weakest = least_certain(decisions)
    return uncertainty([weakest.probability, 1.0 - weakest.probability], policy.uncertainty)


def _escalation(
    prediction: Prediction,
    present: list[str],
    policy: Policy,
    context: RouteContext,
) -> str | None:
    """The escalation rules of escalation.py read for a label set: metadata, outlier score,
    a drift-flagged label predicted present, a new model version predicting another set."""
    if (reason := regulated_or_outlier(prediction, policy)) is not None:
        return reason
    for label in present:
        if class_segment(label) in context.drift_segments:
            return f"drift monitor flags segment {class_segment(label)}"
    key = label_set_key(present)
    return model_changed(prediction, policy, context.earlier, key, lambda k: f"{{{k}}}")


def _recorded(gates: Mapping[str, AcceptGate], policy: Policy) -> dict[str, float]:
    """The thresholds in force, per label (`accept_threshold.<label>`)."""
    recorded: dict[str, float] = {}
    for label, gate in gates.items():
        recorded |= {
            k: v for k, v in gate.recorded.items() if k not in ("accept_threshold", "lower_bound")
        }
        if gate.threshold is not None:
            recorded[f"accept_threshold.{label}"] = gate.threshold
    if not policy.learns_thresholds:
        recorded["accept_threshold"] = policy.accept_threshold
    return recorded


def route_multilabel(
    prediction: Prediction,
    policy: Policy,
    labels: Sequence[str],
    *,
    now: datetime,
    drift_active: bool = False,
    context: RouteContext | None = None,
) -> Routed:
    """Route one multi-label prediction over the dataset's `labels` (ValueError if the
    prediction lacks a probability for one of them)."""
    context = context or RouteContext()
    policy = effective_policy(policy, drift_active)
    decisions = label_decisions(prediction.label_probabilities or {}, labels)
    weakest = least_certain(decisions)
    present = [d.label for d in decisions if d.present]
    key = label_set_key(present)
    penalty = 1.0 - policy.diversity_weight * min(1.0, max(0.0, context.similarity))
    priority = priority_of(decisions, policy) * penalty
    known: Thresholds | None = context.thresholds
    version = prediction.model_version
    if known is not None:
        rate = max(known.calibration_rate(label, policy) for label in labels)
    else:
        rate = initial_calibration_rate(policy)
    sampled = in_calibration_sample(prediction.item_id, version, weakest.confidence, policy, rate)
    gates = {
        d.label: accept_gate(
            d.label,
            d.confidence,
            policy,
            known,
            drift_active,
            sampled=sampled,
            calibration_rate=rate,
        )
        for d in decisions
    }
    if not sampled and any(g.calibrate for g in gates.values()):
        # A cold label asks for a calibration review only when the whole item could be
        # accepted later (its least certain label is over the floor).
        if weakest.confidence < policy.min_accept_threshold:
            gates = {label: _no_calibration(g) for label, g in gates.items()}
    escalation = _escalation(prediction, present, policy, context)
    spot_check = calibration = False
    verdict: Route
    blocking = next((d for d in decisions if gates[d.label].threshold is None), None)
    below = [
        d
        for d in decisions
        if gates[d.label].threshold is not None and d.confidence < (gates[d.label].threshold or 0)
    ]
    calibrating = next((g for g in gates.values() if g.calibrate), None)
    if escalation is not None:
        verdict, reason = "escalate", escalation
    elif calibrating is not None:
        verdict, reason, calibration = "review", calibrating.why_not, True
        priority = CALIBRATION_PRIORITY + unit_draw(
            "calibrate", prediction.dataset, prediction.item_id
        )
    elif blocking is not None:
        verdict, reason = "review", gates[blocking.label].why_not
    elif below:
        worst = min(below, key=lambda d: d.confidence - (gates[d.label].threshold or 0))
        verdict = "review"
        reason = (
            f"label {worst.label} {'in' if worst.present else 'out'} at confidence "
            f"{worst.confidence:.3f}, under its threshold {gates[worst.label].threshold:.3f}"
        )
    else:
        verdict = "accept"
        reason = (
            f"every label confidently in or out; least certain {weakest.label} at "
            f"{weakest.confidence:.3f}, threshold {gates[weakest.label].threshold:.3f}"
        )
        spot_rate = max(g.spot_check_rate for g in gates.values())
        spot_check = unit_draw("spot", prediction.dataset, prediction.item_id) < spot_rate
    decision = Decision(
        **item_of(prediction),
        event_id=f"decision-{prediction.event_id}",
        occurred_at=now,
        prediction_event_id=prediction.event_id,
        route=verdict,
        reason=reason,
        predicted_label=key,
        confidence=weakest.confidence,
        priority=priority,
        spot_check=spot_check,
        model_version=version,
        policy_version=policy.version,
        thresholds=_recorded(gates, policy),
        predicted_labels=present,
        label_confidences={d.label: d.confidence for d in decisions},
    )
    review = None
    if verdict != "accept" or spot_check:
        asked = review_request(prediction, decision, blind=spot_check or calibration)
        review = asked.model_copy(
            update={
                "suggested_label": key,
                "confidence": weakest.confidence,
                "suggested_labels": present,
                "label_probabilities": dict(prediction.label_probabilities or {}),
            }
        )
    auto_label = None
    if verdict == "accept":
        auto_label = accepted_label(
            prediction, decision, key, labels=present, suggested_labels=present
        )
    return Routed(decision, review, auto_label)


def _no_calibration(gate: AcceptGate) -> AcceptGate:
    return replace(gate, calibrate=False)


def label_set_of(key: str) -> frozenset[str]:
    """The label set a multi-label `label` string names."""
    return frozenset(part for part in key.split(LABEL_SET_SEPARATOR) if part)


def confidences_of(outcomes: Iterable[Outcome]) -> dict[tuple[str, str], dict[str, float]]:
    """The label confidences the outcomes carry, per decision (item id, model version)."""
    return {
        (o.item_id, o.model_version): o.label_confidences
        for o in outcomes
        if o.label_confidences is not None
    }


def label_confidences(prediction: Prediction) -> dict[str, float] | None:
    """Each label's in/out confidence, for a multi-label prediction (else None)."""
    if prediction.label_probabilities is None:
        return None
    return {
        label: LabelDecision(label, p).confidence
        for label, p in prediction.label_probabilities.items()
    }


def multilabel_verdicts(
    outcomes: Iterable[Outcome],
    confidences: Mapping[tuple[str, str], Mapping[str, float]],
    labels: Sequence[str],
    policy: Policy,
) -> list[Verdict]:
    """Per-label verdicts, newest item first: for each decision (item, model version) the
    people's label sets are reduced as verdicts.py does (an expert settles; else every
    annotator must agree with the model on the label), then each label's in/out decision is
    right or wrong. `confidences[(item_id, model_version)]` holds the decision's
    `label_confidences`; decisions without them are skipped. A label verdict counts in the
    calibration sample only when its whole item was drawn (the least certain label's
    confidence decides membership, as when it was routed)."""
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault((outcome.item_id, outcome.model_version), []).append(outcome)
    ordered: list[tuple[datetime, str, list[Verdict]]] = []
    for (item_id, model_version), group in groups.items():
        per_label = confidences.get((item_id, model_version))
        if per_label is None or any(label not in per_label for label in labels):
            continue
        group.sort(key=lambda o: (o.occurred_at, o.event_id))
        experts = [o for o in group if o.source == "expert"]
        judged = [experts[-1]] if experts else group
        first = group[0]
        predicted = label_set_of(first.predicted_label)
        weakest = min(per_label[label] for label in labels)
        drawn = in_calibration_sample(
            item_id, model_version, weakest, policy, first.calibration_rate
        )
        # Not drawn: rate 0 keeps every label verdict of the item out of the sample.
        rate = first.calibration_rate if drawn else 0.0
        item_verdicts = [
            Verdict(
                predicted_label=label,
                confidence=float(per_label[label]),
                correct=all(
                    (label in label_set_of(o.label)) == (label in predicted) for o in judged
                ),
                spot_check=any(o.spot_check for o in group),
                item_id=item_id,
                model_version=model_version,
                calibration_rate=rate,
            )
            for label in labels
        ]
        ordered.append((group[-1].occurred_at, item_id, item_verdicts))
    ordered.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    return [verdict for _, _, item in ordered for verdict in item]


def verdicts_of(
    outcomes: Iterable[Outcome], labels: Sequence[str], policy: Policy
) -> list[Verdict]:
    """The verdicts thresholds are learned from: per label decision when the outcomes verify
    multi-label decisions (they carry label confidences), else one per decision (verdicts.py)."""
    rows = list(outcomes)
    if any(o.label_confidences is not None for o in rows):
        return multilabel_verdicts(rows, confidences_of(rows), labels, policy)
    return verdicts(rows)
