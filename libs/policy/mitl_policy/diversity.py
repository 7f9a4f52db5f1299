"""Near-duplicate detection for review batches: MinHash signatures of word shingles.

A signature is SIGNATURE_SIZE minima of salted 64-bit hashes over a text's word n-grams; the
share of equal positions between two signatures estimates the Jaccard similarity of their
shingle sets. `RecentSignatures` keeps a bounded window of recently queued items per dataset,
so an item whose text nearly repeats one already queued can be pushed down the review queue.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque

import numpy as np

SIGNATURE_SIZE = 32
_WORD = re.compile(r"\w+")
# Fixed salts: signatures must agree across replicas and restarts.
_SALTS = np.random.default_rng(20260101).integers(0, 2**63, SIGNATURE_SIZE, dtype=np.uint64)
_MIX = np.uint64(0x9E3779B97F4A7C15)


def shingles(text: str, size: int) -> set[str]:
    words = _WORD.findall(text.lower())
    if len(words) <= size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def signature(text: str, size: int = 2) -> np.ndarray:
    """int64 [SIGNATURE_SIZE] MinHash signature of `text`'s `size`-word shingles."""
    hashes = np.array(
        [
            int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "big")
            for s in sorted(shingles(text, size))
        ],
        dtype=np.uint64,
    )
    mixed = (hashes[None, :] ^ _SALTS[:, None]) * _MIX  # wraps modulo 2**64 by design
    mixed ^= mixed >> np.uint64(29)
    return mixed.min(axis=1).view(np.int64)


class RecentSignatures:
    """The signatures of the last `capacity` items queued for review in one dataset."""

    def __init__(self, capacity: int, entries: list[tuple[str, np.ndarray]] | None = None):
        self._entries: deque[tuple[str, np.ndarray]] = deque(maxlen=capacity)
        for item_id, sig in entries or []:
            self.add(item_id, sig)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, item_id: str, sig: np.ndarray) -> None:
        self._entries.append((item_id, sig))

    def entries(self) -> list[tuple[str, np.ndarray]]:
        return list(self._entries)

    def max_similarity(self, item_id: str, sig: np.ndarray) -> float:
        """Estimated Jaccard similarity to the most similar other item in the window (an item
        never counts as a duplicate of itself, so a redelivery is scored the same)."""
        others = [s for other, s in self._entries if other != item_id]
        if not others:
            return 0.0
        return float((np.stack(others) == sig[None, :]).mean(axis=1).max())
