"""The one-vs-rest head for multi-label datasets: one logistic regression per label over
standardised vectors, exported to ONNX as one graph (kind "vector-ovr-onnx").

The graph is written by hand, since it is a few operators: float "input" [n, d] -> subtract
the training mean, divide by the scale -> MatMul by the stacked coefficients [d, k] -> add the
intercepts -> Sigmoid -> float "probabilities" [n, k], column j the probability that label j
applies (independent: rows need not sum to 1). As for every head, the export is checked
against scikit-learn before it is packaged, and metrics are computed from the ONNX bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from mitl_ml.export import (
    EXPORT_TOLERANCE,
    ExportError,
    linear_head_onnx,
    onnx_probabilities,
)
from mitl_ml.manifest import ModelKind
from mitl_ml.packaging import Bundle, Run, bundle_of, training_record

OVR_KIND: ModelKind = "vector-ovr-onnx"
OVR_C = 1.0
MAX_ITER = 2000
_CHECK_ROWS = 500


def label_matrix(label_sets: Sequence[Sequence[str]], label_set: Sequence[str]) -> np.ndarray:
    """bool [n, k]: row i marks the labels of item i; ValueError names unknown labels."""
    index = {label: j for j, label in enumerate(label_set)}
    if len(index) != len(label_set) or len(index) < 2:
        raise ValueError("label_set must hold at least two distinct labels")
    y = np.zeros((len(label_sets), len(label_set)), dtype=bool)
    for i, labels in enumerate(label_sets):
        unknown = sorted(set(labels) - set(index))
        if unknown:
            raise ValueError(f"labels {unknown} are not in label_set")
        for label in labels:
            y[i, index[label]] = True
    return y


def ovr_onnx(mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> bytes:
    """The ONNX graph of a standardised linear one-vs-rest head (coef [k, d], intercept [k])."""
    return linear_head_onnx(mean, scale, coef, intercept, "Sigmoid", "mitl_ovr_classifier")


def multilabel_metrics(
    probabilities: np.ndarray, y: np.ndarray, label_set: Sequence[str], prefix: str
) -> dict[str, float]:
    """Per label accuracy and the share of all label decisions right (Hamming accuracy), the
    share of items whose whole set is right (subset accuracy), per label precision of "in"."""
    predicted = probabilities >= 0.5
    right = predicted == y
    metrics = {
        f"{prefix}label_decision_accuracy": float(right.mean()),
        f"{prefix}subset_accuracy": float(right.all(axis=1).mean()),
    }
    for j, label in enumerate(label_set):
        metrics[f"{prefix}accuracy.{label}"] = float(right[:, j].mean())
        called = predicted[:, j]
        if called.any():
            metrics[f"{prefix}precision.{label}"] = float(y[called, j].mean())
    return metrics


def train_vector_ovr(
    vectors: np.ndarray,
    label_sets: Sequence[Sequence[str]],
    label_set: Sequence[str],
    *,
    c: float = OVR_C,
    **run: Unpack[Run[np.ndarray]],
) -> Bundle:
    """Standardise + one logistic regression per label -> kind "vector-ovr-onnx" contents
    (file head.onnx). Every label must be present in some training items and absent in
    others (ValueError naming it): its classifier needs both."""
    y = label_matrix(label_sets, label_set)
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2 or len(x) != len(y) or not np.all(np.isfinite(x)):
        raise ValueError("vectors must be a finite 2-D array with one row per label set")
    check_both_classes(y, label_set)
    scaler = StandardScaler().fit(x)
    scaled = scaler.transform(x)
    coef_arr, intercept_arr = fit_ovr(scaled, y, c, run["seed"], run.get("sample_weight"))
    onnx_bytes = ovr_onnx(scaler.mean_, scaler.scale_, coef_arr, intercept_arr)
    expected = sigmoid_scores(scaled[:_CHECK_ROWS], coef_arr, intercept_arr)
    served = onnx_probabilities(onnx_bytes, x[:_CHECK_ROWS])
    drift = float(np.abs(served - expected).max())
    if not drift <= EXPORT_TOLERANCE:
        raise ExportError(f"ONNX export differs from scikit-learn by {drift:.2e}")
    metrics = multilabel_metrics(onnx_probabilities(onnx_bytes, x), y, label_set, "train_")
    holdout = run.get("holdout")
    if holdout is not None:
        hold_x = np.asarray(holdout[0], dtype=np.float32)
        hold_y = holdout_matrix(holdout[1], label_set)
        probs = onnx_probabilities(onnx_bytes, hold_x)
        metrics |= multilabel_metrics(probs, hold_y, label_set, "holdout_")
    training = training_record(set_keys(y, label_set), run, drift, ovr_record(y, label_set, c))
    identity = {"input_kind": "vector", "vector_dim": int(x.shape[1])}
    files = {"head.onnx": onnx_bytes}
    return bundle_of(
        run, OVR_KIND, label_set, files, training, metrics, {"method": "none"}, **identity
    )


def check_both_classes(y: np.ndarray, label_set: Sequence[str]) -> None:
    """ValueError naming the labels that are in every or in no row of `y` [n, k]."""
    constant = [label for j, label in enumerate(label_set) if y[:, j].min() == y[:, j].max()]
    if constant:
        raise ValueError(
            f"labels {constant} are in every or in no training item; each label of a "
            "one-vs-rest head needs items with it and items without it"
        )


def fit_ovr(
    x: np.ndarray | sparse.spmatrix,
    y: np.ndarray,
    c: float,
    seed: int,
    sample_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One logistic regression per column of `y` over the (already scaled) rows of `x`:
    the stacked coefficients [k, d] and intercepts [k]."""
    coef, intercept = [], []
    for j in range(y.shape[1]):
        model = LogisticRegression(C=c, max_iter=MAX_ITER, solver="lbfgs", random_state=seed)
        model.fit(x, y[:, j], sample_weight=sample_weight)
        coef.append(model.coef_[0])
        intercept.append(model.intercept_[0])
    return np.array(coef), np.array(intercept)


def sigmoid_scores(
    x: np.ndarray | sparse.spmatrix, coef: np.ndarray, intercept: np.ndarray
) -> np.ndarray:
    """What the fitted regressions say, [n, k]: sigmoid(x coef^T + intercept)."""
    logits = np.asarray(x @ coef.T) + intercept
    return np.asarray(1.0 / (1.0 + np.exp(-logits)))


def holdout_matrix(keys: Sequence[str | Sequence[str]], label_set: Sequence[str]) -> np.ndarray:
    """A holdout's label matrix from its label sets or their keys ("a|b")."""
    return label_matrix([_split(key) for key in keys], label_set)


def set_keys(y: np.ndarray, label_set: Sequence[str]) -> list[str]:
    """Each row's label-set key ("a|b", labels in label-set order)."""
    return ["|".join(label for label, on in zip(label_set, row, strict=True) if on) for row in y]


def ovr_record(y: np.ndarray, label_set: Sequence[str], c: float) -> dict[str, object]:
    """What a one-vs-rest bundle's training record adds: C, the task, items per label."""
    return {
        "C": c,
        "scaler": "standard",
        "task": "multilabel",
        "label_counts": {label: int(y[:, j].sum()) for j, label in enumerate(label_set)},
    }


def _split(key: str | Sequence[str]) -> list[str]:
    """A holdout's labels: a label set, or its key ("a|b")."""
    if isinstance(key, str):
        return [part for part in key.split("|") if part]
    return list(key)
