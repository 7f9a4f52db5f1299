"""Inference's pure core: which items a model can score, and predictions from its output."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from mitl_contracts.datasets import Catalog, Dataset, UnknownDataset
from mitl_contracts.events import ItemContent, ItemIngested, Prediction, distribution_of
from mitl_contracts.spans import Span
from mitl_ml.sketch import sketch


class ScoredBatch(Protocol):
    """What a model's output must offer (mitl_ml.runtime.ModelOutput does)."""

    @property
    def probabilities(self) -> np.ndarray: ...
    @property
    def outlier_scores(self) -> np.ndarray: ...
    @property
    def truncated(self) -> list[bool]: ...
    @property
    def embeddings(self) -> np.ndarray | None: ...
    # A span model's spans and "nothing missing" confidences, per input (else None).
    @property
    def spans(self) -> list[list[Span]] | None: ...
    @property
    def spans_complete(self) -> list[float] | None: ...


class Scorable(Protocol):
    """What a prediction needs of an item: an ingested item or a row of the rescore window."""

    @property
    def dataset(self) -> str: ...
    @property
    def item_id(self) -> str: ...
    @property
    def batch_id(self) -> str: ...
    @property
    def content(self) -> ItemContent: ...


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
        return (
            f"dataset {item.dataset!r} has no model to serve (`mitl bootstrap {item.dataset} "
            "FILE` trains one from labeled items; replay this once it is served)"
        )
    try:
        dataset.check_content(item.content)
    except ValueError as error:
        return str(error)
    return None


def model_inputs(items: Sequence[Scorable]) -> list[str] | list[bytes] | np.ndarray:
    if items[0].content.kind == "text":
        return [item.content.text or "" for item in items]
    if items[0].content.kind == "image":
        return [item.content.image_data or b"" for item in items]
    return np.asarray([item.content.vector for item in items], dtype=np.float32)


def column_order(model_labels: Sequence[str], dataset_labels: Sequence[str]) -> list[int]:
    """For each dataset label, the model output column holding it.

    A model may order its labels differently from the dataset; predictions always use the
    dataset's order (the router checks it). Raises ValueError unless both are the same set.
    """
    if sorted(model_labels) != sorted(dataset_labels) or len(set(model_labels)) != len(
        model_labels
    ):
        raise ValueError(
            f"model labels {list(model_labels)} are not the dataset's label set "
            f"{list(dataset_labels)}"
        )
    index = {label: i for i, label in enumerate(model_labels)}
    return [index[label] for label in dataset_labels]


@dataclass(frozen=True)
class Misfit:
    """A model output that makes no valid prediction for its item (items[index]): the
    reason goes to the dead-letter topic with the item."""

    index: int
    reason: str


def checked_predictions(
    items: Sequence[Scorable],
    output: ScoredBatch,
    model_version: str,
    labels: list[str],
    dataset_labels: list[str] | None = None,
    *,
    multilabel: bool = False,
    dataset: Dataset | None = None,
) -> tuple[list[Prediction], list[Misfit]]:
    """Platform Predictions over `dataset_labels` (default: the model's `labels`) with
    probabilities renormalised to sum to 1, and, for models with an embedding, the item's
    embedding sketch (for the drift monitor). `multilabel`: the output holds each label's
    own probability (a one-vs-rest head); they become the prediction's
    `label_probabilities`, and `probabilities` their share of the row's total. A span
    model's output adds each item's `spans` and `spans_complete`.

    Returns the predictions in input order and the misfits: items whose output is not a
    valid prediction (e.g. spans outside the text or with a label the dataset lacks), or,
    given `dataset`, not one that fits it (Dataset.check_prediction: overlapping spans where
    the dataset forbids them)."""
    out_labels = list(dataset_labels or labels)
    columns = column_order(labels, out_labels)
    probabilities = np.asarray(output.probabilities, dtype=np.float64)[:, columns]
    per_label: list[dict[str, float] | None] = [None] * len(items)
    if multilabel:
        per_label = [dict(zip(out_labels, map(float, row), strict=True)) for row in probabilities]
        probabilities = np.array([distribution_of(list(row)) for row in probabilities])
    # Float32 softmax rows can sum to 1 +- 1e-7; renormalise so consumers may rely on it.
    probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)
    sketches = None if output.embeddings is None else sketch(output.embeddings).tolist()
    spans, complete = output.spans, output.spans_complete
    made: list[Prediction] = []
    misfits: list[Misfit] = []
    for i, item in enumerate(items):
        try:
            prediction = Prediction(
                event_id=prediction_id(item.item_id, model_version),
                dataset=item.dataset,
                item_id=item.item_id,
                batch_id=item.batch_id,
                content=item.content,
                source="platform",
                model_version=model_version,
                labels=out_labels,
                probabilities=probabilities[i].tolist(),
                outlier_score=float(output.outlier_scores[i]),
                truncated=bool(output.truncated[i]),
                embedding_sketch=None if sketches is None else sketches[i],
                label_probabilities=per_label[i],
                spans=None if spans is None else spans[i],
                spans_complete=None if complete is None else complete[i],
            )
            if dataset is not None:
                dataset.check_prediction(prediction)
        except ValueError as error:  # pydantic's ValidationError is a ValueError
            misfits.append(Misfit(i, f"model {model_version} output: {_reason(error)}"))
            continue
        made.append(prediction)
    return made, misfits


def _reason(error: ValueError) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        return "; ".join(str(e.get("msg", e)) for e in errors())
    return str(error)
