"""Outlier scores calibrated so ~1.0 is the edge of the training distribution.

Every method computes a raw "strangeness" per item and divides it by the 95th percentile of
the same raw quantity over the training set (the `scale` stored in manifest.outlier). So a
score <= 1 is typical of training data and > 1 is rarer than 95% of it, whatever the model.

Methods (manifest.outlier["method"]):
- "centroid-cosine": raw = 1 - max cosine similarity to the per-class training centroids
  (file role "centroids", float32 [k, d]). Measures distance in input/embedding space, so it
  flags inputs unlike any class even when the classifier is confidently wrong.
- "max-prob": raw = 1 - max class probability. Only an uncertainty proxy (a far-away input
  can still get a confident prediction), used where no meaningful embedding exists (TF-IDF).
- "none": always 0.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

PERCENTILE = 95.0
# A scale this small means the training set had no spread (e.g. perfectly separable data with
# saturated probabilities); dividing by it would turn noise into huge scores.
_MIN_SCALE = 1e-6


def class_centroids(x: np.ndarray, label_idx: np.ndarray, n_classes: int) -> np.ndarray:
    """Unit-length mean direction of each class's (normalised) rows: float32 [k, d].

    Raises ValueError if a class has no rows (its centroid would be undefined).
    """
    unit = _unit_rows(x)
    centroids = np.zeros((n_classes, x.shape[1]), dtype=np.float64)
    for c in range(n_classes):
        rows = unit[label_idx == c]
        if len(rows) == 0:
            raise ValueError(f"class index {c} has no training rows")
        centroids[c] = rows.mean(axis=0)
    return _unit_rows(centroids).astype(np.float32)


def centroid_distance(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Raw score: 1 - max cosine similarity of each row of `x` to any centroid, float64 [n]."""
    if len(x) == 0:
        return np.zeros(0)
    sims = _unit_rows(x) @ centroids.astype(np.float64).T
    return 1.0 - sims.max(axis=1)


def max_prob_distance(probabilities: np.ndarray) -> np.ndarray:
    """Raw score: 1 - the largest class probability per row, float64 [n]."""
    if len(probabilities) == 0:
        return np.zeros(0)
    return 1.0 - np.asarray(probabilities, dtype=np.float64).max(axis=1)


def calibrate(method: str, training_raw: np.ndarray) -> dict[str, Any]:
    """The manifest.outlier entry for `method` given raw scores on the training set.

    Falls back to {"method": "none"} when the training spread is too small to scale by.
    """
    scale = float(np.percentile(training_raw, PERCENTILE)) if len(training_raw) else 0.0
    if not np.isfinite(scale) or scale < _MIN_SCALE:
        return {"method": "none", "reason": f"training p{PERCENTILE:g} spread {scale:.3g} ~ 0"}
    return {"method": method, "percentile": PERCENTILE, "scale": scale}


def scaled(raw: np.ndarray, outlier: dict[str, Any]) -> np.ndarray:
    """Divide raw scores by the calibrated scale (zeros for method "none")."""
    if outlier.get("method", "none") == "none":
        return np.zeros(len(raw))
    return np.asarray(raw, dtype=np.float64) / float(outlier["scale"])


def npy_bytes(array: np.ndarray) -> bytes:
    """Serialise an array as .npy bytes (no pickle)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def load_npy(data: bytes) -> np.ndarray:
    """Inverse of npy_bytes; refuses pickled object arrays."""
    return np.load(io.BytesIO(data), allow_pickle=False)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
