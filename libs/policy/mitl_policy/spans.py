"""The routing decision for span items (a dataset with `task: spans`, entity spans): pure.

A span model gives each entity it finds a confidence, and the item a confidence that no
entity is missing (`spans_complete`). An item's parts are its spans and that "complete"
claim. An item is accepted only when every part clears its threshold: each span the
threshold of its label, the complete claim the threshold learned under the pseudo-label
COMPLETE (":complete", which no span label can be: labels may not contain ':'). Thresholds
are the raw `accept_threshold`, or with a `target_precision` learned per label from part
verdicts (calibration.py: the same bound, scopes and calibration sample as single-label
items). The item's confidence is its least certain part's (mitl_contracts.spans.
least_confidence), which also decides calibration sampling; active learning ranks items by
that part's uncertainty. Spot checks and escalation work as for multi-label items.

Precision is counted at entity level: a verified item gives one verdict per predicted span
(right when a verified span has the same offsets and label) and one on the complete claim
(right when no verified span is missing from the prediction). An accepted item's spans are
then right with the learned precision, and its span set is whole with the precision learned
for COMPLETE. The parts of one item are not independent draws, so, as for multi-label items,
the bound is on the share of right parts among items like those verified (docs/spans.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from mitl_contracts.datasets import Policy
from mitl_contracts.events import Prediction
from mitl_contracts.spans import (
    Span,
    least_confidence,
    ordered,
    spans_key,
    spans_of_key,
)

from mitl_policy.calibration import Verdict
from mitl_policy.core import RouteContext, Routed, diversity_penalty, effective_policy, routed
from mitl_policy.parts import choose, part_calibration_rate, part_escalation, part_gates
from mitl_policy.uncertainty import uncertainty
from mitl_policy.verdicts import Dated, Outcome, by_decision, newest_first, settling

# The pseudo-label the "no entity is missing" claim is learned and gated under.
COMPLETE = ":complete"


@dataclass(frozen=True)
class Part:
    """One claim of a span prediction: a span (`key` its spans_key) or the complete claim."""

    key: str
    label: str
    confidence: float

    def describe(self) -> str:
        return "nothing missing" if self.label == COMPLETE else f"span {self.key}"


def threshold_labels(labels: Sequence[str]) -> list[str]:
    """The labels thresholds are learned for on a span dataset: its labels and COMPLETE."""
    return [*labels, COMPLETE]


def parts_of(spans: Sequence[Span], complete: float) -> list[Part]:
    """The parts of a span prediction: its spans in order, then the complete claim."""
    found = [Part(s.key, s.label, float(s.confidence or 0.0)) for s in spans]
    return [*found, Part(COMPLETE, COMPLETE, float(complete))]


def span_confidences(prediction: Prediction) -> dict[str, float] | None:
    """Each part's confidence by key (span keys, and COMPLETE) for a span prediction, else
    None: what an outcome keeps so that part verdicts can be recomputed."""
    if prediction.spans is None or prediction.spans_complete is None:
        return None
    return {p.key: p.confidence for p in parts_of(prediction.spans, prediction.spans_complete)}


def priority_of(weakest: Part, policy: Policy) -> float:
    """Active learning: the least certain part's uncertainty under the policy's strategy."""
    return uncertainty([weakest.confidence, 1.0 - weakest.confidence], policy.uncertainty)


def route_spans(
    prediction: Prediction,
    policy: Policy,
    *,
    now: datetime,
    drift_active: bool = False,
    context: RouteContext | None = None,
) -> Routed:
    """Route one span prediction (ValueError if it carries no spans)."""
    if prediction.spans is None or prediction.spans_complete is None:
        raise ValueError("a span dataset's prediction carries spans and spans_complete")
    context = context or RouteContext()
    policy = effective_policy(policy, drift_active)
    spans, complete = ordered(prediction.spans), prediction.spans_complete
    parts = parts_of(spans, complete)
    weakest = min(parts, key=lambda p: p.confidence)
    confidence = least_confidence(spans, complete)
    key = spans_key(spans)
    gates = part_gates(
        prediction, parts, policy, context.thresholds, drift_active, confidence=confidence
    )
    choice = choose(
        prediction,
        gates,
        policy,
        priority=priority_of(weakest, policy) * diversity_penalty(policy, context),
        escalation=part_escalation(
            prediction, policy, context, sorted({s.label for s in spans}), key, lambda k: f"[{k}]"
        ),
        below=lambda worst, gate: (
            f"{worst.describe()} at confidence {worst.confidence:.3f}, under the "
            f"{worst.label} threshold {gate.threshold:.3f}"
        ),
        accepted=lambda least, gate: (
            f"every span and nothing missing clear their thresholds; least certain "
            f"{least.describe()} at {least.confidence:.3f}, threshold {gate.threshold:.3f}"
        ),
    )
    given = [s.model_copy(update={"confidence": None}) for s in spans]
    return routed(
        prediction,
        policy,
        choice,
        now=now,
        predicted_label=key,
        confidence=confidence,
        decided={"predicted_spans": spans, "spans_complete": complete},
        given={"spans": given, "suggested_spans": spans},
    )


def span_verdicts(outcomes: Iterable[Outcome], policy: Policy) -> list[Verdict]:
    """Part verdicts, newest item first: for each decision (item, model version) the
    people's span sets are reduced as verdicts.py does (an expert settles; else every
    annotator must agree), then each predicted span is right when the verified set has a
    span with the same offsets and label, and the complete claim is right when no verified
    span is missing from the prediction. The outcomes' `label_confidences` hold each part's
    confidence (span_confidences); decisions without them are skipped. A part verdict
    counts in the calibration sample only when its whole item was drawn (the least certain
    part's confidence decides membership, as when it was routed)."""
    dated: list[Dated] = []
    for (item_id, model_version), group in by_decision(outcomes).items():
        first = group[0]
        confidences = first.label_confidences
        if confidences is None or COMPLETE not in confidences:
            continue
        predicted = spans_of_key(first.predicted_label)
        if any(s.key not in confidences for s in predicted):
            continue
        judged = [{s.key for s in spans_of_key(o.label)} for o in settling(group)]
        found = {s.key for s in predicted}
        weakest = min(confidences[k] for k in [*found, COMPLETE])
        rate = part_calibration_rate(
            item_id, model_version, weakest, policy, first.calibration_rate
        )
        base = Verdict(
            predicted_label=COMPLETE,
            confidence=float(confidences[COMPLETE]),
            correct=all(verified <= found for verified in judged),
            spot_check=any(o.spot_check for o in group),
            item_id=item_id,
            model_version=model_version,
            calibration_rate=rate,
        )
        item_verdicts = [
            replace(
                base,
                predicted_label=s.label,
                confidence=float(confidences[s.key]),
                correct=all(s.key in verified for verified in judged),
            )
            for s in predicted
        ]
        item_verdicts.append(base)
        dated += [Dated(group[-1].occurred_at, item_id, v) for v in item_verdicts]
    return newest_first(dated)
