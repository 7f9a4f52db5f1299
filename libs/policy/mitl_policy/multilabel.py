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
from dataclasses import dataclass
from datetime import datetime

from mitl_contracts.datasets import Policy
from mitl_contracts.events import LABEL_SET_SEPARATOR, Prediction, label_set_key

from mitl_policy.calibration import Verdict
from mitl_policy.core import RouteContext, Routed, diversity_penalty, effective_policy, routed
from mitl_policy.parts import choose, part_calibration_rate, part_escalation, part_gates
from mitl_policy.uncertainty import uncertainty
from mitl_policy.verdicts import Dated, Outcome, by_decision, newest_first, settling, verdicts

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
    gates = part_gates(
        prediction,
        decisions,
        policy,
        context.thresholds,
        drift_active,
        confidence=weakest.confidence,
    )
    choice = choose(
        prediction,
        gates,
        policy,
        priority=priority_of(decisions, policy) * diversity_penalty(policy, context),
        escalation=part_escalation(prediction, policy, context, present, key, lambda k: f"{{{k}}}"),
        below=lambda worst, gate: (
            f"label {worst.label} {'in' if worst.present else 'out'} at confidence "
            f"{worst.confidence:.3f}, under its threshold {gate.threshold:.3f}"
        ),
        accepted=lambda least, gate: (
            f"every label confidently in or out; least certain {least.label} at "
            f"{least.confidence:.3f}, threshold {gate.threshold:.3f}"
        ),
    )
    return routed(
        prediction,
        policy,
        choice,
        now=now,
        predicted_label=key,
        confidence=weakest.confidence,
        decided={
            "predicted_labels": present,
            "label_confidences": {d.label: d.confidence for d in decisions},
        },
        asked={
            "suggested_label": key,
            "confidence": weakest.confidence,
            "suggested_labels": present,
            "label_probabilities": dict(prediction.label_probabilities or {}),
        },
        given={"labels": present, "suggested_labels": present},
    )


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
    dated: list[Dated] = []
    for (item_id, model_version), group in by_decision(outcomes).items():
        per_label = confidences.get((item_id, model_version))
        if per_label is None or any(label not in per_label for label in labels):
            continue
        judged = settling(group)
        first = group[0]
        predicted = label_set_of(first.predicted_label)
        weakest = min(per_label[label] for label in labels)
        rate = part_calibration_rate(
            item_id, model_version, weakest, policy, first.calibration_rate
        )
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
        dated += [Dated(group[-1].occurred_at, item_id, v) for v in item_verdicts]
    return newest_first(dated)


def verdicts_of(
    outcomes: Iterable[Outcome], labels: Sequence[str], policy: Policy
) -> list[Verdict]:
    """The verdicts thresholds are learned from: per label decision when the outcomes verify
    multi-label decisions (they carry label confidences), else one per decision (verdicts.py)."""
    rows = list(outcomes)
    if any(o.label_confidences is not None for o in rows):
        return multilabel_verdicts(rows, confidences_of(rows), labels, policy)
    return verdicts(rows)
