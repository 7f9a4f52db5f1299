"""When an item goes to an expert instead of an annotator, first matching rule wins:

1. metadata matches a regulated value (policy.escalate_metadata)
2. outlier score above the policy's outlier threshold
3. the predicted class is a segment the drift monitor flagged ("class:<label>")
4. a newer model version predicts another label than an earlier one did for the same item
   (with `model_change_queue: annotator`, such an item goes to annotators instead, before
   any calibration or accept rule)
5. confidence below the escalation floor
(Two annotators disagreeing on an item is the sixth rule; it fires on labels, see app.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from mitl_contracts.datasets import Policy
from mitl_contracts.events import Prediction


@dataclass(frozen=True)
class EarlierPrediction:
    """The latest decision on the same item by another model version."""

    model_version: str
    label: str


def class_segment(label: str) -> str:
    return f"class:{label}"


def escalation_reason(
    prediction: Prediction,
    policy: Policy,
    *,
    drift_segments: frozenset[str] = frozenset(),
    earlier: EarlierPrediction | None = None,
) -> str | None:
    if (reason := regulated_or_outlier(prediction, policy)) is not None:
        return reason
    label, confidence = prediction.top
    if class_segment(label) in drift_segments:
        return f"drift monitor flags segment {class_segment(label)}"
    if (reason := model_changed(prediction, policy, earlier, label)) is not None:
        return reason
    if confidence < policy.escalation_floor:
        return f"confidence {confidence:.3f} below escalation floor {policy.escalation_floor:.3f}"
    return None


def regulated_or_outlier(prediction: Prediction, policy: Policy) -> str | None:
    """Rules 1 and 2: regulated metadata, an outlier score above the threshold."""
    metadata = prediction.content.metadata
    for key, values in policy.escalate_metadata.items():
        if metadata.get(key) in values:
            return f"metadata {key}={metadata[key]} requires an expert"
    if policy.outlier_threshold is not None and prediction.outlier_score > policy.outlier_threshold:
        return f"outlier score {prediction.outlier_score:.2f} above {policy.outlier_threshold:.2f}"
    return None


def model_changed(
    prediction: Prediction,
    policy: Policy,
    earlier: EarlierPrediction | None,
    label: str,
    show: Callable[[str], str] = str,
    *,
    queue: Literal["expert", "annotator"] = "expert",
) -> str | None:
    """Rule 4, for the policy's `model_change_queue` being `queue`: a newer model version
    predicts `label` where an earlier version predicted another (`show` writes a label in the
    reason). The expert rule escalates; the annotator one reviews (core.route, parts.choose)."""
    if (
        policy.escalate_on_model_change
        and policy.model_change_queue == queue
        and earlier is not None
        and earlier.model_version != prediction.model_version
        and earlier.label != label
    ):
        return (
            f"model {prediction.model_version} predicts {show(label)} but "
            f"{earlier.model_version} predicted {show(earlier.label)}"
        )
    return None
