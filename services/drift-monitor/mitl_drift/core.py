"""Drift-monitor's pure core: count predictions and human labels of one (dataset,
model_version) into its windows, evaluate the statistics when due, and turn the alert
transitions into DriftAlert events. Each (statistic, segment) has its own alert state: segment
"all" for the whole stream, "class:<label>" for one predicted class.

Event ids are derived from (dataset, model_version, statistic, segment, transition number), so
re-running the same events over the same state emits the same ids, which consumers dedupe.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mitl_contracts.events import DriftAlert, Label, Prediction

from mitl_drift.config import AGREEMENT_DROP, SPOT_CHECK_DROP, AgreementSizes, DriftConfig
from mitl_drift.hysteresis import AlertState, step
from mitl_drift.measures import Key, Measured, agreement_measure, prediction_measures
from mitl_drift.windows import AgreementWindows, Observation, PredictionWindows

HUMAN_SOURCES = ("annotator", "expert")


class Rejected(ValueError):
    """The event can never be counted; the message names the problem, `kind` its category."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class MonitorState:
    """Everything known about one (dataset, model_version); `labels` fixes the class order."""

    dataset: str
    model_version: str
    labels: tuple[str, ...]
    predictions: PredictionWindows
    agreement: AgreementWindows = field(default_factory=AgreementWindows)
    spot_checks: AgreementWindows = field(default_factory=AgreementWindows)
    alerts: dict[Key, AlertState] = field(default_factory=dict)
    predictions_seen: int = 0
    human_labels_seen: int = 0
    spot_checks_seen: int = 0

    @classmethod
    def new(cls, dataset: str, model_version: str, labels: Sequence[str]) -> MonitorState:
        return cls(dataset, model_version, tuple(labels), PredictionWindows(len(labels)))


def observe(
    prediction: Prediction, labels: Sequence[str], sketch_dim: int | None = None
) -> Observation:
    """What drift is measured on in `prediction`, classes indexed in `labels` order.

    Raises Rejected if the prediction is not over exactly `labels`, its outlier score is not
    a finite number, or its embedding sketch does not have `sketch_dim` values (the width of
    the sketches counted so far; None: any)."""
    if sorted(prediction.labels) != sorted(labels):
        raise Rejected(
            f"prediction labels {prediction.labels} are not the label set {list(labels)} "
            f"of dataset {prediction.dataset!r}",
            "labels",
        )
    if not math.isfinite(prediction.outlier_score):
        raise Rejected(
            f"outlier_score {prediction.outlier_score} is not a finite number", "outlier"
        )
    sketch = prediction.embedding_sketch
    if sketch is not None and sketch_dim is not None and len(sketch) != sketch_dim:
        raise Rejected(
            f"embedding_sketch has {len(sketch)} values; model version "
            f"{prediction.model_version!r} sent {sketch_dim} before",
            "sketch",
        )
    label, confidence = prediction.top
    return Observation(
        confidence,
        labels.index(label),
        prediction.outlier_score,
        None if sketch is None else tuple(sketch),
    )


def human_agreement(label: Label) -> bool | None:
    """Whether a person kept the model's suggestion; None when the label says nothing about
    it (labels by the model or a client system, or given without a suggestion)."""
    if label.source not in HUMAN_SOURCES or label.suggested_label is None:
        return None
    return label.label == label.suggested_label


def blind(label: Label) -> bool:
    """A label given without the model's suggestion in view: a spot check of the model."""
    return not label.suggestion_shown


def observe_predictions(
    state: MonitorState,
    observations: Iterable[Observation],
    config: DriftConfig,
    occurred_at: datetime,
) -> list[DriftAlert]:
    """Count new observations (each once: deduplication is the caller's); return the alerts
    of the evaluations they made due, in order."""
    alerts: list[DriftAlert] = []
    for observation in observations:
        state.predictions_seen += 1
        if state.predictions.add(observation, config):
            measures = prediction_measures(state.predictions, state.labels)
            sizes = (len(state.predictions.recent), state.predictions.reference_count)
            alerts += _evaluate(state, measures, sizes, config, occurred_at)
    return alerts


def observe_agreements(
    state: MonitorState, agreements: Iterable[bool], config: DriftConfig, occurred_at: datetime
) -> list[DriftAlert]:
    """Count new agreements of labels given with the suggestion shown (True: the person kept
    the model's label); return alerts (agreement_drop)."""
    windows, sizes = state.agreement, config.agreement
    seen, alerts = _observe(state, windows, sizes, AGREEMENT_DROP, agreements, config, occurred_at)
    state.human_labels_seen += seen
    return alerts


def observe_spot_checks(
    state: MonitorState, agreements: Iterable[bool], config: DriftConfig, occurred_at: datetime
) -> list[DriftAlert]:
    """Count new spot checks (blind labels; True: the person chose the model's label); return
    alerts (spot_check_drop: a fall in the precision they estimate)."""
    windows, sizes = state.spot_checks, config.spot_check
    seen, alerts = _observe(state, windows, sizes, SPOT_CHECK_DROP, agreements, config, occurred_at)
    state.spot_checks_seen += seen
    return alerts


def _observe(
    state: MonitorState,
    windows: AgreementWindows,
    sizes: AgreementSizes,
    statistic: str,
    agreements: Iterable[bool],
    config: DriftConfig,
    occurred_at: datetime,
) -> tuple[int, list[DriftAlert]]:
    """Feed `agreements` to `windows`: (how many, the alerts of `statistic` they raised)."""
    seen, alerts = 0, []
    for agreed in agreements:
        seen += 1
        if windows.add(agreed, sizes):
            measures = agreement_measure(windows, statistic)
            counts = (len(windows.recent), windows.reference_labels)
            alerts += _evaluate(state, measures, counts, config, occurred_at)
    return seen, alerts


def _evaluate(
    state: MonitorState,
    measures: dict[Key, Measured],
    sizes: tuple[int, int],
    config: DriftConfig,
    occurred_at: datetime,
) -> list[DriftAlert]:
    alerts: list[DriftAlert] = []
    for (statistic, segment), measured in measures.items():
        alert_state = state.alerts.setdefault((statistic, segment), AlertState())
        transition = step(alert_state, statistic, measured.value, config, measured.details)
        if transition is None:
            continue
        window_size, reference_size = sizes
        alerts.append(
            DriftAlert(
                event_id=alert_event_id(
                    state.dataset, state.model_version, statistic, segment, transition.number
                ),
                dataset=state.dataset,
                occurred_at=occurred_at,
                model_version=state.model_version,
                state=transition.state,
                statistic=statistic,
                value=transition.value,
                threshold=transition.threshold,
                severity=transition.severity,
                segment=segment,
                window_size=window_size,
                reference_size=reference_size,
                details={
                    **transition.details,
                    "clear_below": transition.threshold * config.clear_ratio,
                    "critical_above": transition.threshold * config.critical_ratio,
                    "transition": transition.number,
                    "evaluation": alert_state.evaluations,
                },
            )
        )
    return alerts


def alert_event_id(
    dataset: str, model_version: str, statistic: str, segment: str, number: int
) -> str:
    key = "\x00".join((dataset, model_version, statistic, segment, str(number)))
    return f"drift-{hashlib.sha256(key.encode()).hexdigest()[:32]}"
