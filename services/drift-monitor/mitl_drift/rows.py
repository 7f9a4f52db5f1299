"""A monitor's rows in Postgres (monitor.monitors, monitor.statistics) and its in-memory state,
each from the other. Pure: no I/O."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mitl_runtime.db import from_row

from mitl_drift.core import MonitorState
from mitl_drift.hysteresis import AlertState
from mitl_drift.windows import AgreementWindows, Observation, PredictionWindows


def sketch_rows(
    flat: Sequence[float], count: int, dim: int | None
) -> list[tuple[float, ...] | None]:
    """The recent window's sketches from their flattened column: `count` rows of `dim`
    values, a row of NaN standing for a prediction without a sketch."""
    if dim is None:
        return [None] * count
    rows: list[tuple[float, ...] | None] = []
    for i in range(count):
        row = tuple(flat[i * dim : (i + 1) * dim])
        rows.append(None if not row or math.isnan(row[0]) else row)
    return rows


def flat_sketches(recent: Iterable[Observation], dim: int | None) -> list[float]:
    """Inverse of sketch_rows."""
    if dim is None:
        return []
    flat: list[float] = []
    for observation in recent:
        flat.extend(observation.sketch if observation.sketch is not None else [math.nan] * dim)
    return flat


def monitor_state(row: Mapping[str, Any], statistics: Iterable[Mapping[str, Any]]) -> MonitorState:
    """The state of a monitor from its monitor.monitors row and its monitor.statistics rows."""
    labels = tuple(row["labels"])
    count = len(row["recent_class"])
    recent = zip(
        row["recent_confidence"],
        row["recent_class"],
        row["recent_outlier"],
        sketch_rows(row["recent_sketch"], count, row["sketch_dim"]),
        strict=True,
    )
    return MonitorState(
        dataset=row["dataset"],
        model_version=row["model_version"],
        labels=labels,
        predictions=PredictionWindows(
            n_classes=len(labels),
            reference_confidence=list(row["reference_confidence"]),
            reference_classes=list(row["reference_classes"]),
            reference_confidence_sum=row["reference_confidence_sum"],
            reference_outlier_sum=row["reference_outlier_sum"],
            sketch_dim=row["sketch_dim"],
            reference_sketch_count=row["reference_sketch_count"],
            reference_sketch_sum=list(row["reference_sketch_sum"]),
            reference_sketch_sumsq=list(row["reference_sketch_sumsq"]),
            recent=deque(Observation(c, k, o, x) for c, k, o, x in recent),
            since_evaluation=row["since_evaluation"],
        ),
        agreement=AgreementWindows(
            reference_labels=row["agreement_reference_labels"],
            reference_agreed=row["agreement_reference_agreed"],
            recent=deque(row["agreement_recent"]),
            since_evaluation=row["agreement_since_evaluation"],
        ),
        spot_checks=AgreementWindows(
            reference_labels=row["spot_reference_labels"],
            reference_agreed=row["spot_reference_agreed"],
            recent=deque(row["spot_recent"]),
            since_evaluation=row["spot_since_evaluation"],
        ),
        alerts={(s["statistic"], s["segment"]): from_row(AlertState, s) for s in statistics},
        predictions_seen=row["predictions_seen"],
        human_labels_seen=row["human_labels_seen"],
        spot_checks_seen=row["spot_checks_seen"],
    )
