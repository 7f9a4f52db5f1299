"""Sentence embeddings of a whole dataset, computed once and cached on disk.

Encoding a dataset with MiniLM takes tens of seconds; a simulation over many seeds needs the
same matrix each time, so it is stored as `.npy` under the cache folder, keyed by dataset,
encoder and a digest of the texts (a changed dataset or encoder never reads a stale file).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from mitl_ml.datasets import LabeledData
from mitl_ml.encoder import ENCODER_ID, MiniLMEncoder

DEFAULT_CACHE_DIR = Path(".local/cache/sim")


def cache_path(data: LabeledData, cache_dir: Path) -> Path:
    digest = hashlib.sha256("\x00".join(data.texts()).encode()).hexdigest()[:16]
    return cache_dir / f"{data.name}-{ENCODER_ID}-{digest}.npy"


def dataset_embeddings(
    data: LabeledData, cache_dir: Path = DEFAULT_CACHE_DIR, encoder: MiniLMEncoder | None = None
) -> np.ndarray:
    """float32 [len(data), 384] unit rows in example order, read from the cache when present.

    The file is written to a temporary name and renamed, so a run killed mid-write never leaves
    a truncated cache behind and two runs racing write the same bytes.
    """
    path = cache_path(data, cache_dir)
    if path.exists():
        cached = np.load(path)
        if cached.shape == (len(data), MiniLMEncoder.dim):
            return cached
    embeddings = (encoder or MiniLMEncoder()).encode(data.texts()).embeddings
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(partial, embeddings)
    partial.replace(path)
    return embeddings
