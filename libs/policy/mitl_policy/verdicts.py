"""From human labels to verdicts on the router's decisions: which predictions people confirmed.

A human label (annotator or expert, from mitl.labels.v1) is joined to the decision it verifies
(same item, same model version); the pair is an `Outcome`. Several labels for one decision
reduce to one `Verdict`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from mitl_contracts.events import Decision

from mitl_policy.calibration import Verdict

HUMAN_SOURCES = ("annotator", "expert")


@dataclass(frozen=True)
class Outcome:
    """One human label for an item the router decided, with what the model had predicted."""

    event_id: str
    item_id: str
    model_version: str
    predicted_label: str
    confidence: float
    label: str
    source: str
    spot_check: bool
    occurred_at: datetime
    # The calibration rate recorded on the decision (None: not recorded, the policy's fixed
    # rate applies).
    calibration_rate: float | None = None
    # Multi-label decisions: each label's in/out confidence (mitl_policy.multilabel); None for
    # single-label ones.
    label_confidences: dict[str, float] | None = None


class Decided(Protocol):
    """What an outcome takes of the decision it verifies, by column name: `model_version`,
    `predicted_label`, `confidence`, `spot_check` and `calibration_rate` (a row of the router's
    decisions table, or `decided_fields` of a Decision)."""

    def __getitem__(self, key: str, /) -> Any: ...


def decided_fields(decision: Decision) -> dict[str, Any]:
    """A Decision's fields as a row of the router's decisions table keeps them."""
    return {
        "model_version": decision.model_version,
        "predicted_label": decision.predicted_label,
        "confidence": decision.confidence,
        "spot_check": decision.spot_check,
        "calibration_rate": decision.thresholds.get("calibration_rate"),
    }


def joined(
    decided: Decided,
    *,
    event_id: str,
    item_id: str,
    label: str,
    source: str,
    occurred_at: datetime,
    label_confidences: dict[str, float] | None,
) -> Outcome:
    """A person's `label` for `item_id` (label event `event_id`) joined to the decision it
    verifies: the router's join, and the simulator's."""
    return Outcome(
        event_id=event_id,
        item_id=item_id,
        model_version=decided["model_version"],
        predicted_label=decided["predicted_label"],
        confidence=decided["confidence"],
        label=label,
        source=source,
        spot_check=decided["spot_check"],
        occurred_at=occurred_at,
        calibration_rate=decided["calibration_rate"],
        label_confidences=label_confidences,
    )


def by_decision(outcomes: Iterable[Outcome]) -> dict[tuple[str, str], list[Outcome]]:
    """The outcomes per decision (item id, model version), each in the order of its labels."""
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault((outcome.item_id, outcome.model_version), []).append(outcome)
    for group in groups.values():
        group.sort(key=lambda o: (o.occurred_at, o.event_id))
    return groups


def settling(group: list[Outcome]) -> list[Outcome]:
    """The labels that judge a decision (`group` in label order): the latest expert label
    when there is one, else every annotator label (all must agree with the model)."""
    experts = [o for o in group if o.source == "expert"]
    return experts[-1:] or group


def verdicts(outcomes: Iterable[Outcome]) -> list[Verdict]:
    """One verdict per decision (item, model version), newest first (see `group_verdict`)."""
    return newest_first(group_verdict(group) for group in by_decision(outcomes).values())


def group_verdict(group: list[Outcome]) -> Dated:
    """The verdict on one decision from every human label for it (one item, one model
    version), with the time of its latest label.

    An expert's label settles the item (the latest expert label if several). Without one the
    model counts as right only if every annotator agreed with it: a disagreement between
    people counts against the model, the safe side for a precision bound.
    """
    group = sorted(group, key=lambda o: (o.occurred_at, o.event_id))
    first = group[0]
    verdict = Verdict(
        predicted_label=first.predicted_label,
        confidence=first.confidence,
        correct=all(o.label == first.predicted_label for o in settling(group)),
        spot_check=any(o.spot_check for o in group),
        item_id=first.item_id,
        model_version=first.model_version,
        calibration_rate=first.calibration_rate,
    )
    return Dated(group[-1].occurred_at, first.item_id, verdict)


class Dated(NamedTuple):
    """A verdict with the time of its decision's latest label, the order verdicts come in."""

    latest: datetime
    item_id: str
    verdict: Verdict


def newest_first(dated: Iterable[Dated]) -> list[Verdict]:
    """Verdicts by their latest label, newest first (ties: item id, descending)."""
    ordered = sorted(dated, key=lambda entry: (entry.latest, entry.item_id), reverse=True)
    return [entry.verdict for entry in ordered]


def annotators_disagree(labels: Iterable[tuple[str, str]]) -> bool:
    """True if (source, label) pairs for one item hold two different annotator labels and no
    expert has settled the item yet."""
    pairs = list(labels)
    if any(source == "expert" for source, _ in pairs):
        return False
    return len({label for source, label in pairs if source == "annotator"}) > 1
