"""The simulated model: the logistic-regression head mitl_ml trains on MiniLM embeddings.

Embeddings come from the on-disk cache (embeddings.py), so retraining costs one LBFGS fit. The
regularisation and solver are the ones `train_minilm_head` uses for served models.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from mitl_ml.train import MAX_ITER, MINILM_C


class Head:
    """A fitted head over `n_labels` classes. A class absent from the training labels gets
    probability 0 (early in a loop a rare class may not have been labeled yet)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, n_labels: int, seed: int, version: str):
        self.version = version
        self.n_labels = n_labels
        self._single: int | None = None
        if len(np.unique(y)) == 1:
            self._single = int(y[0])
            return
        self._model = LogisticRegression(
            C=MINILM_C, max_iter=MAX_ITER, solver="lbfgs", random_state=seed
        ).fit(x, y)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """float64 [n, n_labels], rows summing to 1."""
        out = np.zeros((len(x), self.n_labels))
        if self._single is not None:
            out[:, self._single] = 1.0
            return out
        out[:, self._model.classes_] = self._model.predict_proba(x)
        return out
