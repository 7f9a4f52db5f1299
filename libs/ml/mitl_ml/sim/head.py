"""The simulated model: the logistic-regression head mitl_ml trains on MiniLM embeddings.

Embeddings come from the on-disk cache (embeddings.py), so retraining costs one LBFGS fit. The
solver is the one `train_minilm_head` uses for served models; the regularisation is weaker
(SIM_C 16 against MINILM_C 4): with the hundreds to thousands of labels a full-coverage run
trains on, C=16 is more accurate and more confident at the same precision (random 500 SMS
labels: accuracy 0.974 against 0.967, 88 % of the rest at confidence >= 0.9 against 82 %, both
about 0.995 precise there; 4000 TREC-6 labels: 0.844 against 0.842), so more is accepted.

A loop retrains after every few dozen labels, so a head may start from the previous round's
weights (`warm`): LBFGS then needs a fraction of its iterations to converge on the grown set.

Fits run with one BLAS thread. LBFGS's own update is a chain of small vector operations that
OpenBLAS spreads over threads which then mostly wait on each other: on the SMS hybrid features
(86,853 columns) a 2,000-row fit took 2.7 s of CPU with two threads and 0.4 s with one, and
cProfile put 412 of a 737 s `mitl simulate` run inside the LBFGS routine.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from mitl_ml.train import MAX_ITER

# Weaker regularisation than MINILM_C for the label counts a full-coverage run reaches.
SIM_C = 16.0


class Head:
    """A fitted head over `n_labels` classes. A class absent from the training labels gets
    probability 0 (early in a loop a rare class may not have been labeled yet)."""

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        n_labels: int,
        seed: int,
        version: str,
        warm: Head | None = None,
    ):
        self.version = version
        self.n_labels = n_labels
        self._single: int | None = None
        self._model: LogisticRegression | None = None
        classes = np.unique(y)
        if len(classes) == 1:
            self._single = int(y[0])
            return
        model = LogisticRegression(C=SIM_C, max_iter=MAX_ITER, solver="lbfgs", random_state=seed)
        previous = warm._model if warm is not None else None
        if previous is not None and np.array_equal(previous.classes_, classes):
            # Same classes, same features: start from the previous solution.
            model.set_params(warm_start=True)
            model.coef_ = previous.coef_.copy()
            model.intercept_ = previous.intercept_.copy()
        with threadpool_limits(limits=1, user_api="blas"):
            self._model = model.fit(x, y)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """float64 [n, n_labels], rows summing to 1."""
        out = np.zeros((x.shape[0], self.n_labels))
        if self._single is not None:
            out[:, self._single] = 1.0
            return out
        assert self._model is not None
        out[:, self._model.classes_] = self._model.predict_proba(x)
        return out
