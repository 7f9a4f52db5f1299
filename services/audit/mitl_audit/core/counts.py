"""What a report is built from: counts of log rows grouped by what the report slices by
(store/reports.py reads them from Postgres). Pure data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DecisionCount:
    """How many decisions share a model version, batch, route and predicted class."""

    model_version: str
    batch_id: str
    route: str
    count: int
    predicted_label: str = ""
    # Sum and sum of squares of the decisions' confidences (the prediction-powered interval).
    confidence_sum: float = 0.0
    confidence_squares: float = 0.0


@dataclass(frozen=True)
class LabelCount:
    """How many labels share an annotator, source, action, override flag, model version, batch
    and model suggestion (`predicted_label`, "" when the label came without one)."""

    annotator: str | None
    source: str
    action: str
    is_override: bool
    model_version: str
    count: int
    batch_id: str = ""
    predicted_label: str = ""


@dataclass(frozen=True)
class SpotCheckCount:
    """How many spot checks of accepted labels share a model version, batch, accepted class,
    checking person and outcome (`agreed`: the person chose the accepted label)."""

    model_version: str
    batch_id: str
    predicted_label: str
    annotator: str | None
    agreed: bool
    count: int
    # Sum and sum of squares of the residuals (1 if agreed, else 0, minus the confidence).
    residual_sum: float = 0.0
    residual_squares: float = 0.0
