"""Classification metrics shared by training (holdout) and `evaluate` on a loaded model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mitl_ml.runtime import LoadedModel


def classification_metrics(
    predicted: np.ndarray, actual: np.ndarray, labels: Sequence[str], prefix: str = ""
) -> dict[str, float]:
    """Accuracy, macro recall and per-class recall from label-index arrays.

    Keys: "{prefix}accuracy", "{prefix}macro_recall", "{prefix}n" and "{prefix}recall/<label>"
    for every label present in `actual` (absent labels are omitted rather than NaN, so the
    dict stays JSON-safe; macro recall averages over present labels only).
    """
    predicted, actual = np.asarray(predicted), np.asarray(actual)
    out: dict[str, float] = {f"{prefix}n": float(len(actual))}
    if len(actual) == 0:
        return out
    out[f"{prefix}accuracy"] = float((predicted == actual).mean())
    recalls = []
    for index, label in enumerate(labels):
        mask = actual == index
        if mask.any():
            recall = float((predicted[mask] == index).mean())
            out[f"{prefix}recall/{label}"] = recall
            recalls.append(recall)
    out[f"{prefix}macro_recall"] = float(np.mean(recalls))
    return out


def evaluate(
    model: LoadedModel, inputs: Sequence[str | bytes] | np.ndarray, labels: Sequence[str]
) -> dict[str, float]:
    """Score `inputs` with a loaded model against gold `labels` (strings); see
    classification_metrics for the keys. Raises ValueError for a label the model lacks."""
    if len(inputs) != len(labels):
        raise ValueError(f"{len(inputs)} inputs but {len(labels)} labels")
    index = {label: i for i, label in enumerate(model.labels)}
    if unknown := sorted(set(labels) - set(index)):
        raise ValueError(f"labels {unknown} are not in the model's label set")
    actual = np.array([index[label] for label in labels], dtype=np.int64)
    predicted = model.predict(inputs).probabilities.argmax(axis=1)
    return classification_metrics(predicted, actual, model.labels)
