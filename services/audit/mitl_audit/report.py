"""A dataset's audit report from grouped counts of its log rows. Pure: no I/O.

Rates are None where their denominator is zero, never a made-up 0.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from mitl_audit.entries import HUMAN_SOURCES

NO_BATCH = "(none)"
NO_ANNOTATOR = "(unknown)"


@dataclass(frozen=True)
class DecisionCount:
    """How many decisions share a model version, batch and route."""

    model_version: str
    batch_id: str
    route: str
    count: int


@dataclass(frozen=True)
class LabelCount:
    """How many labels share an annotator, source, action, override flag and model version."""

    annotator: str | None
    source: str
    action: str
    is_override: bool
    model_version: str
    count: int


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


class Annotator(BaseModel):
    annotator: str
    labels: int = 0
    confirm: int = 0
    correct: int = 0
    resolve: int = 0
    overrides: int = 0
    confirmation_rate: float | None = Field(default=None, description="confirm / (confirm+correct)")


class Window(BaseModel):
    """Rows with from <= occurred_at < to; an open end is None."""

    model_config = ConfigDict(populate_by_name=True)

    from_: datetime | None = Field(default=None, alias="from")
    to: datetime | None = None


class Report(BaseModel):
    dataset: str
    window: Window
    decisions: Routes
    decisions_by_model_version: dict[str, Routes]
    decisions_by_batch: dict[str, Routes]
    labels: Labels
    labels_by_model_version: dict[str, Labels]
    annotators: list[Annotator]


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


def annotators(counts: Iterable[LabelCount]) -> list[Annotator]:
    tallies: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for count in counts:
        if count.source not in HUMAN_SOURCES:
            continue
        tally = tallies[count.annotator or NO_ANNOTATOR]
        tally["labels"] += count.count
        tally[count.action] += count.count
        tally["overrides"] += count.count if count.is_override else 0
    return [
        Annotator(
            annotator=name,
            labels=t["labels"],
            confirm=t["confirm"],
            correct=t["correct"],
            resolve=t["resolve"],
            overrides=t["overrides"],
            confirmation_rate=ratio(t["confirm"], t["confirm"] + t["correct"]),
        )
        for name, t in sorted(tallies.items())
    ]


def build(
    dataset: str, window: Window, decisions: list[DecisionCount], label_counts: list[LabelCount]
) -> Report:
    by_model: dict[str, list[DecisionCount]] = defaultdict(list)
    by_batch: dict[str, list[DecisionCount]] = defaultdict(list)
    for count in decisions:
        by_model[count.model_version].append(count)
        by_batch[count.batch_id or NO_BATCH].append(count)
    labels_by_model: dict[str, list[LabelCount]] = defaultdict(list)
    for label_count in label_counts:
        labels_by_model[label_count.model_version].append(label_count)
    return Report(
        dataset=dataset,
        window=window,
        decisions=routes(decisions),
        decisions_by_model_version={k: routes(v) for k, v in sorted(by_model.items())},
        decisions_by_batch={k: routes(v) for k, v in sorted(by_batch.items())},
        labels=labels(label_counts),
        labels_by_model_version={k: labels(v) for k, v in sorted(labels_by_model.items())},
        annotators=annotators(label_counts),
    )


CSV_COLUMNS = ("section", "key", "metric", "value")


def to_csv(report: Report) -> str:
    """The report as long-format CSV: one (section, key, metric, value) line per number."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def emit(section: str, key: str, model: BaseModel, skip: tuple[str, ...] = ()) -> None:
        for metric, value in model.model_dump().items():
            if metric not in skip:
                writer.writerow((section, key, metric, "" if value is None else value))

    emit("decisions", "all", report.decisions)
    for key, value in report.decisions_by_model_version.items():
        emit("decisions_by_model_version", key, value)
    for key, value in report.decisions_by_batch.items():
        emit("decisions_by_batch", key, value)
    emit("labels", "all", report.labels)
    for key, tally in report.labels_by_model_version.items():
        emit("labels_by_model_version", key, tally)
    for annotator in report.annotators:
        emit("annotator", annotator.annotator, annotator, skip=("annotator",))
    return out.getvalue()
