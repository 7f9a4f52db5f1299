"""How far a model's confidence is from its accuracy, and temperature scaling to close it.

Expected calibration error (ECE): items binned by top probability into ECE_BINS equal-width
bins; the mean over items of |accuracy of the bin - mean confidence of the bin|. 0 is perfect;
a head that says 0.99 and is right 90 % of the time there adds 0.09 for those items.

Temperature scaling divides a linear head's logits by one number T fitted by maximum
likelihood on out-of-fold predictions (so the head is not judged on items it learned). With
probabilities p it is p ** (1/T) renormalised, the same thing. A logistic-regression head takes
it exactly by dividing its coefficients and intercept by T, so the exported ONNX graph serves
calibrated probabilities with no extra step. It never changes which class is predicted.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

ECE_BINS = 15
# Temperatures searched (log-uniform bounds): sharper than 1/8 or flatter than 8 means the
# out-of-fold sample is too small to trust.
T_BOUNDS = (0.125, 8.0)


def expected_calibration_error(
    probabilities: np.ndarray, actual: np.ndarray, bins: int = ECE_BINS
) -> float:
    """ECE of float [n, k] probabilities against label indices [n]; 0.0 for no items."""
    probs = np.asarray(probabilities, dtype=np.float64)
    actual = np.asarray(actual)
    if len(probs) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == actual
    edges = np.minimum((confidence * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(edges):
        mask = edges == b
        total += mask.sum() * abs(float(correct[mask].mean()) - float(confidence[mask].mean()))
    return total / len(probs)


def with_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities as a head whose logits are divided by `temperature` gives them."""
    logp = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-300, None))
    z = logp / temperature
    z -= z.max(axis=1, keepdims=True)
    out = np.exp(z)
    return out / out.sum(axis=1, keepdims=True)


def fit_temperature(probabilities: np.ndarray, actual: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of `actual` (1.0 for no items)."""
    probs, actual = np.asarray(probabilities, dtype=np.float64), np.asarray(actual)
    if len(probs) == 0:
        return 1.0
    rows = np.arange(len(probs))

    def nll(log_t: float) -> float:
        scaled = with_temperature(probs, float(np.exp(log_t)))
        return float(-np.log(np.clip(scaled[rows, actual], 1e-300, None)).mean())

    low, high = np.log(T_BOUNDS[0]), np.log(T_BOUNDS[1])
    found = minimize_scalar(nll, bounds=(low, high), method="bounded")
    return float(np.exp(found.x))


def chosen_temperature(oof: np.ndarray, actual: np.ndarray) -> tuple[float, float, float]:
    """(temperature, ECE before, ECE after) on out-of-fold predictions; the temperature is
    1.0 when scaling does not lower the ECE there."""
    before = expected_calibration_error(oof, actual)
    temperature = fit_temperature(oof, actual)
    after = expected_calibration_error(with_temperature(oof, temperature), actual)
    if after >= before:
        return 1.0, before, before
    return temperature, before, after
