"""GET /v1/drift/{dataset}: the current statistics and alert states of a dataset's model
versions, as Postgres holds them (the same answer from every replica)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class StatisticState(BaseModel):
    statistic: str
    segment: str
    value: float | None
    threshold: float
    active: bool
    severity: str
    evaluations: int
    transitions: int
    evaluated_at: datetime | None
    changed_at: datetime | None


class ModelVersionDrift(BaseModel):
    model_version: str
    labels: list[str]
    predictions_seen: int
    human_labels_seen: int
    # How full the windows are: drift is evaluated once the reference and the recent window
    # are full (window sizes in the service settings).
    reference_size: int
    window_size: int
    agreement_reference_size: int
    agreement_window_size: int
    # Blind human labels (spot checks), and the embedding sketches counted (0: none came).
    spot_checks_seen: int
    spot_check_reference_size: int
    spot_check_window_size: int
    sketch_dim: int | None
    reference_sketches: int
    # "statistic" for the whole stream, "statistic@segment" for a segment such as a class.
    active_alerts: list[str]
    statistics: list[StatisticState]
    updated_at: datetime


class DriftReport(BaseModel):
    dataset: str
    model_versions: list[ModelVersionDrift]


def alert_name(state: StatisticState) -> str:
    return state.statistic if state.segment == "all" else f"{state.statistic}@{state.segment}"


# ModelVersionDrift fields read from monitor.monitors as they are stored, and those read
# from a column of another name.
AS_STORED = (
    "model_version",
    "predictions_seen",
    "human_labels_seen",
    "spot_checks_seen",
    "sketch_dim",
    "updated_at",
)
RENAMED = {
    "window_size": "recent_size",
    "agreement_reference_size": "agreement_reference_labels",
    "agreement_window_size": "agreement_recent_size",
    "spot_check_reference_size": "spot_reference_labels",
    "spot_check_window_size": "spot_recent_size",
    "reference_sketches": "reference_sketch_count",
}


def report(dataset: str, monitors: Sequence[Any], statistics: Sequence[Any]) -> DriftReport:
    """Assemble rows of `store.monitors` and `store.statistics` into the report."""
    by_version: dict[str, list[StatisticState]] = {}
    for row in statistics:
        by_version.setdefault(row["model_version"], []).append(
            StatisticState.model_validate(dict(row))
        )
    versions = []
    for row in monitors:
        states = by_version.get(row["model_version"], [])
        versions.append(
            ModelVersionDrift(
                **{name: row[name] for name in AS_STORED},
                **{name: row[column] for name, column in RENAMED.items()},
                labels=list(row["labels"]),
                reference_size=sum(row["reference_classes"]),
                active_alerts=[alert_name(s) for s in states if s.active],
                statistics=states,
            )
        )
    return DriftReport(dataset=dataset, model_versions=versions)
