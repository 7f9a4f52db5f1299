"""Stand-ins shared by the simulator's unit tests: a small synthetic world and an encoder."""

from __future__ import annotations

import numpy as np
from mitl_ml.encoder import Encoded
from mitl_ml.sim.world import World


def synthetic_world(n: int = 600, seed: int = 0, noise: float = 1.2) -> World:
    """Three classes around random centres in 16 dimensions (unit rows), with texts."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    centres = rng.normal(size=(3, 16))
    x = centres[truth] + rng.normal(scale=noise, size=(n, 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    texts = [f"item {i} about topic{t} and word{i % 7}" for i, t in enumerate(truth)]
    return World("synthetic", ["a", "b", "c"], texts, x.astype(np.float32), truth)


class CountingEncoder:
    """Stands in for MiniLM: a deterministic vector per text, and counts its calls."""

    dim = 384

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: list[str]) -> Encoded:
        self.calls += 1
        out = np.zeros((len(texts), 384), dtype=np.float32)
        out[np.arange(len(texts)), [len(t) % 384 for t in texts]] = 1.0
        return Encoded(out, [False] * len(texts))
