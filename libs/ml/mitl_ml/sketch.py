"""Embedding sketches: a fixed random projection of 384-d MiniLM embeddings to 16 dimensions.

The drift monitor cannot keep 384 floats per item in its windows, and needs none of them: a
random projection keeps distances and, above all, shifts of the mean (Johnson-Lindenstrauss),
so a change in what the encoder sees shows in 16 numbers. Inference puts the sketch of each
item into `Prediction.embedding_sketch`.

The projection matrix is part of the contract: every producer and every stored window must
use the same one. Its entries are +-1/sqrt(16) (an Achlioptas projection) taken from the bits
of a sha256 stream, so it is the same on every machine and every numpy version; `SKETCH_ID`
names it, and changes if it ever does.
"""

from __future__ import annotations

import hashlib
from functools import cache

import numpy as np

from mitl_ml.encoder import EMBEDDING_DIM

SKETCH_DIM = 16
SKETCH_ID = "rademacher-384x16-v1"


@cache
def projection() -> np.ndarray:
    """The [384, 16] projection matrix (float32, read-only). E||e P||^2 = ||e||^2 for any e."""
    bits_needed = EMBEDDING_DIM * SKETCH_DIM
    stream = b""
    block = 0
    while len(stream) * 8 < bits_needed:
        stream += hashlib.sha256(f"{SKETCH_ID}:{block}".encode()).digest()
        block += 1
    bits = np.unpackbits(np.frombuffer(stream, dtype=np.uint8))[:bits_needed]
    signs = np.where(bits == 1, 1.0, -1.0).reshape(EMBEDDING_DIM, SKETCH_DIM)
    matrix = (signs / np.sqrt(SKETCH_DIM)).astype(np.float32)
    matrix.flags.writeable = False
    return matrix


def sketch(embeddings: np.ndarray) -> np.ndarray:
    """The sketches of `embeddings` (float [n, 384]): float32 [n, 16], row i of row i.

    Pure and deterministic (computed in float64, so a row's sketch does not depend on the
    batch it came in beyond float32 rounding). Raises ValueError for another shape or for
    NaN/inf values.
    """
    array = np.asarray(embeddings, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != EMBEDDING_DIM:
        raise ValueError(f"expected embeddings of shape [n, {EMBEDDING_DIM}], got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("embeddings hold NaN or infinity")
    return (array @ projection().astype(np.float64)).astype(np.float32)
