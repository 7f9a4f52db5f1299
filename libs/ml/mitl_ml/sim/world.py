"""A labeled dataset as the simulator sees it: texts, cached embeddings, true label indices."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mitl_ml.datasets import load_dataset
from mitl_ml.sim.embeddings import DEFAULT_CACHE_DIR, dataset_embeddings

SIM_DATASETS = ("trec6", "sms_spam")


@dataclass(frozen=True)
class World:
    name: str
    labels: list[str]
    texts: list[str]
    x: np.ndarray
    truth: np.ndarray

    def subset(self, size: int, seed: int) -> World:
        """A random `size`-item part (small, fast runs for tests)."""
        picked = np.sort(np.random.default_rng([seed, 3]).permutation(len(self.truth))[:size])
        return World(
            self.name,
            self.labels,
            [self.texts[i] for i in picked],
            self.x[picked],
            self.truth[picked],
        )


def load_world(name: str, cache_dir: Path = DEFAULT_CACHE_DIR) -> World:
    """Load `name` (trec6 or sms_spam) with its MiniLM embeddings (cached after the first)."""
    if name not in SIM_DATASETS:
        raise ValueError(f"unknown dataset {name!r}; the simulator knows {list(SIM_DATASETS)}")
    data = load_dataset(name)
    labels = list(data.labels)
    truth = np.array([labels.index(label) for label in data.label_list()])
    return World(name, labels, data.texts(), dataset_embeddings(data, cache_dir), truth)
