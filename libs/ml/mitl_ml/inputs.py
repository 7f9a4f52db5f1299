"""Predict-time input validation: reject what a model cannot score, before it reaches ONNX."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from mitl_ml.errors import InvalidInput

T = TypeVar("T")


def check_texts(inputs: Sequence[str | bytes] | np.ndarray) -> list[str]:
    """The inputs as a list of str; InvalidInput for arrays, a bare str, or non-str items."""
    if isinstance(inputs, np.ndarray) or isinstance(inputs, str):
        raise InvalidInput("this model takes a list of texts, not vectors or a bare string")
    return each_of(inputs, str, "text")


def check_vectors(inputs: Sequence[str | bytes] | np.ndarray, dim: int) -> np.ndarray:
    """The inputs as float32 [n, dim]; InvalidInput for text, another width, or NaN/inf.

    An empty 1-D input is accepted as zero rows.
    """
    if isinstance(inputs, np.ndarray):
        is_text = inputs.dtype.kind in "USO" and any(isinstance(x, str) for x in inputs.flat)
    else:
        is_text = isinstance(inputs, str) or any(isinstance(x, str) for x in inputs)
    if is_text:
        raise InvalidInput("this model takes numeric vectors, not text")
    try:
        vectors = np.asarray(inputs, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"inputs are not a numeric matrix: {exc}") from exc
    if vectors.ndim == 1 and vectors.size == 0:
        vectors = vectors.reshape(0, dim)
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise InvalidInput(f"expected vectors of shape [n, {dim}], got {list(vectors.shape)}")
    if not np.all(np.isfinite(vectors)):
        bad = sorted({int(i) for i in np.argwhere(~np.isfinite(vectors))[:, 0]})
        raise InvalidInput(f"vectors {bad[:10]} contain NaN or inf")
    return vectors.astype(np.float32)


def check_images(inputs: Sequence[str | bytes] | np.ndarray) -> list[bytes]:
    """The inputs as a list of image bytes (PNG or JPEG); InvalidInput for arrays, a bare
    value, or items that are not bytes."""
    if isinstance(inputs, np.ndarray | str | bytes):
        raise InvalidInput("this model takes a list of images (bytes), not an array or one value")
    return each_of(inputs, bytes, "images")


def each_of(inputs: Sequence[str | bytes], kind: type[T], what: str) -> list[T]:
    """The inputs as a list of `kind`; InvalidInput naming the first item of another type."""
    checked: list[T] = []
    for i, item in enumerate(inputs):
        if not isinstance(item, kind):
            raise InvalidInput(f"input {i} is {type(item).__name__}; this model takes {what}")
        checked.append(item)
    return checked
