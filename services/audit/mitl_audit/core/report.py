"""A dataset's audit report from grouped counts of its log rows. Pure: no I/O.

Overall, per ingest batch, per model version and per class (the model's predicted class), the
report gives the routes' shares, the labels and the override rate, and the precision of
accepted labels estimated from spot checks (precision.py); per annotator, the same for the
labels they gave and their confirmation rate; and how far people agree on the items several
of them labeled (agreement.py). Rates are None where their denominator is zero, never a
made-up 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from mitl_policy.ppi import Moments
from pydantic import BaseModel, ConfigDict, Field

from mitl_audit.core.agreement import Agreement, SharedItem, agreement
from mitl_audit.core.counts import DecisionCount, LabelCount, SpotCheckCount
from mitl_audit.core.entries import HUMAN_SOURCES
from mitl_audit.core.label_sets import LabelFigures
from mitl_audit.core.precision import Precision, precision, with_ppi
from mitl_audit.core.span_figures import SpanFigures

NO_BATCH = "(none)"
NO_ANNOTATOR = "(unknown)"
NO_CLASS = "(none)"


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class Routes(BaseModel):
    total: int = 0
    accept: int = 0
    review: int = 0
    escalate: int = 0
    auto_accepted_share: float | None = None
    reviewed_share: float | None = None
    escalated_share: float | None = None


class Labels(BaseModel):
    total: int = 0
    auto_accepted: int = 0
    human: int = 0
    overrides: int = 0
    override_rate: float | None = Field(default=None, description="overrides / human labels")


class Slice(BaseModel):
    """Everything the report says about one batch, model version or class."""

    decisions: Routes
    labels: Labels
    accepted_precision: Precision


class Annotator(BaseModel):
    annotator: str
    labels: int = 0
    confirm: int = 0
    correct: int = 0
    resolve: int = 0
    overrides: int = 0
    override_rate: float | None = Field(default=None, description="overrides / labels")
    confirmation_rate: float | None = Field(default=None, description="confirm / (confirm+correct)")
    accepted_precision: Precision = Field(
        default_factory=Precision, description="accepted labels this person spot-checked"
    )


class Window(BaseModel):
    """Rows with from <= occurred_at < to; an open end is None."""

    model_config = ConfigDict(populate_by_name=True)

    from_: datetime | None = Field(default=None, alias="from")
    to: datetime | None = None


class Report(BaseModel):
    dataset: str
    window: Window
    decisions: Routes
    labels: Labels
    accepted_precision: Precision
    by_batch: dict[str, Slice]
    by_model_version: dict[str, Slice]
    by_class: dict[str, Slice]
    annotators: list[Annotator]
    agreement: Agreement = Field(default_factory=Agreement)
    # Multi-label datasets: per label, how people's label sets bear out the model's
    # (core/label_sets.py); None for single-label datasets.
    per_label: dict[str, LabelFigures] | None = None
    # Span datasets: overrides and entity-level figures of the human span labels.
    spans: SpanFigures | None = None


def routes(counts: Iterable[DecisionCount]) -> Routes:
    by_route: dict[str, int] = defaultdict(int)
    for count in counts:
        by_route[count.route] += count.count
    total = sum(by_route.values())
    return Routes(
        total=total,
        accept=by_route["accept"],
        review=by_route["review"],
        escalate=by_route["escalate"],
        auto_accepted_share=ratio(by_route["accept"], total),
        reviewed_share=ratio(by_route["review"], total),
        escalated_share=ratio(by_route["escalate"], total),
    )


def labels(counts: Iterable[LabelCount]) -> Labels:
    counts = list(counts)
    human = sum(c.count for c in counts if c.source in HUMAN_SOURCES)
    overrides = sum(c.count for c in counts if c.is_override)
    return Labels(
        total=sum(c.count for c in counts),
        auto_accepted=sum(c.count for c in counts if c.action == "auto_accept"),
        human=human,
        overrides=overrides,
        override_rate=ratio(overrides, human),
    )


def accepted_precision(
    checks: Iterable[SpotCheckCount], decisions: Iterable[DecisionCount] = ()
) -> Precision:
    """Wilson's interval from the spot checks; with the decisions, the prediction-powered
    interval beside it (the accepted items' confidences, corrected by the checks' residuals)."""
    checks = list(checks)
    base = precision(sum(c.count for c in checks if c.agreed), sum(c.count for c in checks))
    accepted = [d for d in decisions if d.route == "accept"]
    confidences = Moments(
        sum(d.count for d in accepted),
        sum(d.confidence_sum for d in accepted),
        sum(d.confidence_squares for d in accepted),
    )
    residuals = Moments(
        sum(c.count for c in checks),
        sum(c.residual_sum for c in checks),
        sum(c.residual_squares for c in checks),
    )
    return with_ppi(base, confidences, residuals)


def annotators(counts: Iterable[LabelCount], checks: Iterable[SpotCheckCount]) -> list[Annotator]:
    tallies: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for count in counts:
        if count.source not in HUMAN_SOURCES:
            continue
        tally = tallies[count.annotator or NO_ANNOTATOR]
        tally["labels"] += count.count
        tally[count.action] += count.count
        tally["overrides"] += count.count if count.is_override else 0
    checked = group(checks, lambda c: c.annotator or NO_ANNOTATOR)
    return [
        Annotator(
            annotator=name,
            labels=t["labels"],
            confirm=t["confirm"],
            correct=t["correct"],
            resolve=t["resolve"],
            overrides=t["overrides"],
            override_rate=ratio(t["overrides"], t["labels"]),
            confirmation_rate=ratio(t["confirm"], t["confirm"] + t["correct"]),
            accepted_precision=accepted_precision(checked.get(name, [])),
        )
        for name, t in sorted(tallies.items())
    ]


T = TypeVar("T")


def group(counts: Iterable[T], key: Callable[[T], str]) -> dict[str, list[T]]:
    grouped: dict[str, list[T]] = defaultdict(list)
    for count in counts:
        grouped[key(count)].append(count)
    return grouped


def slices(
    decisions: list[DecisionCount],
    label_counts: list[LabelCount],
    checks: list[SpotCheckCount],
    key: Callable[[Any], str],
) -> dict[str, Slice]:
    """One slice per key value found in any of the counts, in key order."""
    by_decision, by_label, by_check = (
        group(decisions, key),
        group(label_counts, key),
        group(checks, key),
    )
    return {
        name: Slice(
            decisions=routes(by_decision.get(name, [])),
            labels=labels(by_label.get(name, [])),
            accepted_precision=accepted_precision(
                by_check.get(name, []), by_decision.get(name, [])
            ),
        )
        for name in sorted({*by_decision, *by_label, *by_check})
    }


def build(
    dataset: str,
    window: Window,
    decisions: list[DecisionCount],
    label_counts: list[LabelCount],
    checks: list[SpotCheckCount] | None = None,
    shared: list[SharedItem] | None = None,
) -> Report:
    """`shared`: the items of the window that two people or more labeled, with each one's
    latest label (see agreement.py)."""
    checks = checks or []
    return Report(
        dataset=dataset,
        window=window,
        decisions=routes(decisions),
        labels=labels(label_counts),
        accepted_precision=accepted_precision(checks, decisions),
        by_batch=slices(decisions, label_counts, checks, lambda c: c.batch_id or NO_BATCH),
        by_model_version=slices(decisions, label_counts, checks, lambda c: c.model_version),
        by_class=slices(decisions, label_counts, checks, lambda c: c.predicted_label or NO_CLASS),
        annotators=annotators(label_counts, checks),
        agreement=agreement(shared or []),
    )
