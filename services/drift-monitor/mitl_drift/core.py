"""Drift-monitor's pure core: count predictions and human labels of one (dataset,
model_version) into its windows, evaluate the statistics when due, and turn the alert
transitions into DriftAlert events.

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

from mitl_drift.config import DriftConfig
from mitl_drift.hysteresis import AlertState, step
from mitl_drift.measures import Measured, agreement_measure, prediction_measures
from mitl_drift.windows import AgreementWindows, Observation, PredictionWindows

SEGMENT_ALL = "all"
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
    alerts: dict[str, AlertState] = field(default_factory=dict)
    predictions_seen: int = 0
    human_labels_seen: int = 0

    @classmethod
    def new(cls, dataset: str, model_version: str, labels: Sequence[str]) -> MonitorState:
        return cls(dataset, model_version, tuple(labels), PredictionWindows(len(labels)))


def observe(prediction: Prediction, labels: Sequence[str]) -> Observation:
    """What drift is measured on in `prediction`, classes indexed in `labels` order.

    Raises Rejected if the prediction is not over exactly `labels` or its outlier score is
    not a finite number."""
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
    label, confidence = prediction.top
    return Observation(confidence, labels.index(label), prediction.outlier_score)


def human_agreement(label: Label) -> bool | None:
    """Whether a person kept the model's suggestion; None when the label says nothing about
    it (labels by the model or a client system, or given without a suggestion)."""
    if label.source not in HUMAN_SOURCES or label.suggested_label is None:
        return None
    return label.label == label.suggested_label


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
    """Count new human agreements (True: the person kept the suggestion); return alerts."""
    alerts: list[DriftAlert] = []
    for agreed in agreements:
        state.human_labels_seen += 1
        if state.agreement.add(agreed, config):
            measures = agreement_measure(state.agreement)
            sizes = (len(state.agreement.recent), state.agreement.reference_labels)
            alerts += _evaluate(state, measures, sizes, config, occurred_at)
    return alerts


def _evaluate(
    state: MonitorState,
    measures: dict[str, Measured],
    sizes: tuple[int, int],
    config: DriftConfig,
    occurred_at: datetime,
) -> list[DriftAlert]:
    alerts: list[DriftAlert] = []
    for statistic, measured in measures.items():
        alert_state = state.alerts.setdefault(statistic, AlertState())
        transition = step(alert_state, statistic, measured.value, config, measured.details)
        if transition is None:
            continue
        window_size, reference_size = sizes
        alerts.append(
            DriftAlert(
                event_id=alert_event_id(
                    state.dataset, state.model_version, statistic, SEGMENT_ALL, transition.number
                ),
                dataset=state.dataset,
                occurred_at=occurred_at,
                model_version=state.model_version,
                state=transition.state,
                statistic=statistic,
                value=transition.value,
                threshold=transition.threshold,
                severity=transition.severity,
                segment=SEGMENT_ALL,
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
