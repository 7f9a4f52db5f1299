"""Whether a model version can serve a dataset: checked at registration, again at load."""

from __future__ import annotations

from mitl_contracts.datasets import Dataset
from mitl_ml.manifest import MULTILABEL_KINDS, SPAN_KINDS, ModelManifest

from mitl_inference.core import column_order


class IncompatibleModel(ValueError):
    """The model cannot serve the dataset; the message names the mismatch."""


def check_fits(manifest: ModelManifest, dataset: Dataset) -> None:
    """Raise IncompatibleModel unless `manifest` describes a model for `dataset`: same
    dataset name, input kind, vector width and label set (in any order)."""
    where = f"model {manifest.version}"
    if manifest.dataset != dataset.name:
        raise IncompatibleModel(
            f"{where} was trained for dataset {manifest.dataset!r}, not {dataset.name!r}"
        )
    if manifest.input_kind != dataset.input_kind:
        raise IncompatibleModel(
            f"{where} takes {manifest.input_kind} input; dataset {dataset.name!r} has "
            f"{dataset.input_kind} items"
        )
    if dataset.input_kind == "vector" and manifest.vector_dim != dataset.vector_dim:
        raise IncompatibleModel(
            f"{where} takes vectors of {manifest.vector_dim} values; dataset {dataset.name!r} "
            f"has {dataset.vector_dim}"
        )
    model_task = "single"
    if manifest.kind in MULTILABEL_KINDS:
        model_task = "multilabel"
    elif manifest.kind in SPAN_KINDS:
        model_task = "spans"
    if model_task != dataset.task:
        raise IncompatibleModel(
            f"{where} ({manifest.kind}) is a {model_task} model; dataset {dataset.name!r} is "
            f"{dataset.task}"
        )
    try:
        column_order(manifest.labels, dataset.labels)
    except ValueError as error:
        raise IncompatibleModel(f"{where}: {error}") from None
