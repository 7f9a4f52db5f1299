"""Sentence embeddings of a whole dataset, computed once and cached on disk.

Encoding a dataset with MiniLM takes tens of seconds; a simulation over many seeds needs the
same matrix each time, so it is stored as `.npy` under the cache folder, keyed by dataset,
encoder (and the numerics its session runs with) and a digest of the texts (a changed dataset
or encoder never reads a stale file).
A dataset read from a file (files.py) is keyed by the file's sha256 and the text column.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Protocol

import numpy as np

from mitl_ml.datasets import LabeledData
from mitl_ml.encoder import ENCODER_ID, NUMERICS, Encoded, MiniLMEncoder

DEFAULT_CACHE_DIR = Path(".local/cache/sim")
# The encoder and the numerics its session runs with: what a cached matrix was computed by.
ENCODER_TAG = f"{ENCODER_ID}-{NUMERICS}"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class TextEncoder(Protocol):
    """What the cache needs of an encoder (MiniLMEncoder; a stand-in in tests)."""

    def encode(self, texts: list[str]) -> Encoded: ...


def texts_cache_path(name: str, texts: list[str], cache_dir: Path) -> Path:
    """Where the embeddings of dataset `name`'s `texts` are cached: keyed by the encoder and
    a digest of the texts."""
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    return cache_dir / f"{name}-{ENCODER_TAG}-{digest}.npy"


def cache_path(data: LabeledData, cache_dir: Path) -> Path:
    return texts_cache_path(data.name, data.texts(), cache_dir)


def file_cache_path(file_sha256: str, column: str, cache_dir: Path) -> Path:
    """Where a file's text column is cached: the column name is kept readable (unsafe
    characters replaced) and its own digest added, so two columns never share a file."""
    readable = _UNSAFE.sub("_", column)[:40]
    column_digest = hashlib.sha256(column.encode()).hexdigest()[:8]
    return cache_dir / f"file-{file_sha256[:16]}-{readable}-{column_digest}-{ENCODER_TAG}.npy"


def dataset_embeddings(
    data: LabeledData, cache_dir: Path = DEFAULT_CACHE_DIR, encoder: MiniLMEncoder | None = None
) -> np.ndarray:
    """float32 [len(data), 384] unit rows in example order, read from the cache when present."""
    return cached_embeddings(data.texts(), cache_path(data, cache_dir), encoder)


def dataset_encoding(
    data: LabeledData, cache_dir: Path = DEFAULT_CACHE_DIR, encoder: MiniLMEncoder | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The embeddings and the leading states of `data` in example order (cached_encoding)."""
    return cached_encoding(data.texts(), cache_path(data, cache_dir), encoder)


def leading_path(path: Path) -> Path:
    """Where the leading states are cached beside the embeddings cached at `path`."""
    return path.with_name(f"{path.stem}-leading.npy")


def cached_embeddings(
    texts: list[str], path: Path, encoder: TextEncoder | None = None
) -> np.ndarray:
    """float32 [len(texts), 384] unit rows of `texts`, read from `path` when it holds them."""
    if path.exists():
        cached = np.load(path)
        if cached.shape == (len(texts), MiniLMEncoder.dim):
            return cached
    return cached_encoding(texts, path, encoder)[0]


def cached_encoding(
    texts: list[str], path: Path, encoder: TextEncoder | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The embeddings (at `path`) and the leading states (mitl_ml.encoder.Encoded.leading,
    at leading_path) of `texts`, float32 [len(texts), 384] each, read back when both hold them.

    Each file is written to a temporary name and renamed, so a run killed mid-write never
    leaves a truncated cache behind and two runs racing write the same bytes.
    """
    shape = (len(texts), MiniLMEncoder.dim)
    beside = leading_path(path)
    if path.exists() and beside.exists():
        embeddings, leading = np.load(path), np.load(beside)
        if embeddings.shape == shape and leading.shape == shape:
            return embeddings, leading
    embeddings, leading = (encoder or MiniLMEncoder()).encode(texts).dense()
    for target, array in ((path, embeddings), (beside, leading)):
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(partial, array)
        partial.replace(target)
    return embeddings, leading
