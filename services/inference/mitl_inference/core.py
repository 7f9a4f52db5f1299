"""Inference's pure core: which items a model can score, and predictions from its output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from mitl_contracts.datasets import Catalog, UnknownDataset
from mitl_contracts.events import ItemIngested, Prediction


class ScoredBatch(Protocol):
    probabilities: np.ndarray
    outlier_scores: np.ndarray
    truncated: list[bool]


def prediction_id(item_id: str, model_version: str) -> str:
    """One prediction per item and model version: a redelivered item yields the same id."""
    return f"prediction-{item_id}-{model_version}"


def unscorable(item: ItemIngested, catalog: Catalog, served: set[str]) -> str | None:
    """Why the platform cannot score `item`, or None if it can."""
    try:
        dataset = catalog.get(item.dataset)
    except UnknownDataset as error:
        return str(error)
    if item.dataset not in served:
        return f"dataset {item.dataset!r} has no model to serve"
    try:
        dataset.check_content(item.content)
    except ValueError as error:
        return str(error)
    return None


def model_inputs(items: Sequence[ItemIngested]) -> list[str] | np.ndarray:
    if items[0].content.kind == "text":
        return [item.content.text or "" for item in items]
    return np.asarray([item.content.vector for item in items], dtype=np.float32)


def predictions(
    items: Sequence[ItemIngested], output: ScoredBatch, model_version: str, labels: list[str]
) -> list[Prediction]:
    out = []
    for i, item in enumerate(items):
        probabilities = output.probabilities[i].astype(float)
        # Float32 softmax rows can sum to 1 +- 1e-7; renormalise so consumers may rely on it.
        probabilities = probabilities / probabilities.sum()
        out.append(
            Prediction(
                event_id=prediction_id(item.item_id, model_version),
                dataset=item.dataset,
                item_id=item.item_id,
                batch_id=item.batch_id,
                content=item.content,
                source="platform",
                model_version=model_version,
                labels=list(labels),
                probabilities=[float(p) for p in probabilities],
                outlier_score=float(output.outlier_scores[i]),
                truncated=bool(output.truncated[i]),
            )
        )
    return out
