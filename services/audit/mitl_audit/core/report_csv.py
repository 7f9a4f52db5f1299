"""A report as long-format CSV. Pure: no I/O."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from mitl_audit.core.agreement import pair_key
from mitl_audit.core.report import Report, Slice

CSV_COLUMNS = ("section", "key", "metric", "value")


def flatten(model: BaseModel, prefix: str = "") -> Iterable[tuple[str, Any]]:
    """(dotted name, value) of every number in `model`, nested models included."""
    for name, value in model:
        if isinstance(value, BaseModel):
            yield from flatten(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


def to_csv(report: Report) -> str:
    """The report as long-format CSV: one (section, key, metric, value) line per number;
    sections: all, batch, model_version, class, annotator, agreement (key `all`),
    agreement_pair (key `a/b`, two people) and agreement_label (key the label); metrics are
    dotted paths such as decisions.auto_accepted_share or accepted_precision.ci_low; no value
    is an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def emit(section: str, key: str, model: BaseModel, skip: tuple[str, ...] = ()) -> None:
        for metric, value in flatten(model):
            if metric not in skip:
                writer.writerow((section, key, metric, "" if value is None else value))

    overall = Slice(
        decisions=report.decisions,
        labels=report.labels,
        accepted_precision=report.accepted_precision,
    )
    emit("all", "all", overall)
    for section, members in (
        ("batch", report.by_batch),
        ("model_version", report.by_model_version),
        ("class", report.by_class),
    ):
        for key, value in members.items():
            emit(section, key, value)
    for annotator in report.annotators:
        emit("annotator", annotator.annotator, annotator, skip=("annotator",))
    agreement = report.agreement
    emit("agreement", "all", agreement, skip=("pairs", "by_label"))
    for pair in agreement.pairs:
        emit("agreement_pair", pair_key(pair), pair, skip=("annotator_a", "annotator_b"))
    for label, figures in agreement.by_label.items():
        emit("agreement_label", label, figures)
    return out.getvalue()
