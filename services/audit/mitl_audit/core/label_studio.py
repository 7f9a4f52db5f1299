"""The two Label Studio task entries an exported row gives, whatever its task type: a person's
annotation and the model's prediction, each around a `result` list the caller builds
(choices for single- and multi-label rows, labels for span rows)."""

from __future__ import annotations

from typing import Any

# The name Label Studio's labeling config gives the control a result belongs to (the choices,
# or the labels of a span row).
FROM_NAME = "label"


def annotation(result: list[dict[str, Any]], provenance: dict[str, Any]) -> dict[str, Any]:
    """A person's label as a Label Studio annotation, with who gave it and when."""
    return {
        "result": result,
        "created_at": provenance["labeled_at"],
        "ground_truth": False,
        "was_cancelled": False,
        "meta": {"labeled_by": provenance["labeled_by"], "role": provenance["role"]},
    }


def prediction(result: list[dict[str, Any]], provenance: dict[str, Any]) -> dict[str, Any]:
    """The model's output as a Label Studio prediction, scored with the decision's
    confidence where the row has one."""
    entry: dict[str, Any] = {"model_version": provenance["model_version"], "result": result}
    if provenance["decision_confidence"] is not None:
        entry["score"] = provenance["decision_confidence"]
    return entry
