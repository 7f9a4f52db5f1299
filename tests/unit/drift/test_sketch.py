"""mitl_ml.sketch: a fixed projection (same on every machine), shape and value checks, and the
norm preservation that makes 16 numbers stand for 384."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from mitl_ml.sketch import SKETCH_DIM, projection, sketch


def test_the_projection_is_fixed_and_balanced() -> None:
    matrix = projection()
    assert matrix.shape == (384, SKETCH_DIM) and matrix.dtype == np.float32
    assert set(np.unique(matrix)) == {np.float32(-0.25), np.float32(0.25)}
    # Pinned: a change of the matrix would silently compare sketches of two projections.
    digest = hashlib.sha256(matrix.tobytes()).hexdigest()
    assert digest == "7b95f18898aab48cc9f5181aa6d4029dba9f0f495e78c2e115752a3b922d56a4"
    assert 0.45 < float((matrix > 0).mean()) < 0.55
    with pytest.raises(ValueError):
        matrix[0, 0] = 1.0


def test_sketches_keep_norms_on_average_and_rows_in_order() -> None:
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(2000, 384))
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    sketches = sketch(embeddings)
    assert sketches.shape == (2000, SKETCH_DIM) and sketches.dtype == np.float32
    assert float(np.mean(np.sum(sketches.astype(np.float64) ** 2, axis=1))) == pytest.approx(
        1.0, abs=0.05
    )
    assert np.allclose(sketch(embeddings[5:6])[0], sketches[5], atol=1e-6)


def test_bad_shapes_and_values_are_refused() -> None:
    with pytest.raises(ValueError, match=r"shape \[n, 384\]"):
        sketch(np.zeros((2, 128)))
    with pytest.raises(ValueError, match=r"shape \[n, 384\]"):
        sketch(np.zeros(384))
    bad = np.zeros((1, 384))
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        sketch(bad)
