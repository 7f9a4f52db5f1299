"""Convert fitted scikit-learn classifiers to ONNX and prove the export is faithful.

Every export is re-run in onnxruntime on (a sample of) the training inputs and compared with
scikit-learn's predict_proba; a drift above EXPORT_TOLERANCE aborts training instead of
shipping a model that serves different numbers than it was evaluated with.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime as ort
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

# Opset 17 / ai.onnx.ml 3 are well inside what onnxruntime 1.32 implements and what
# skl2onnx 1.20 emits for linear models and TF-IDF, so bundles stay loadable by older ORT.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
EXPORT_TOLERANCE = 1e-4
_CHECK_ROWS = 500
# skl2onnx's default tokenizer and lower-casing differ from scikit-learn's token_pattern
# r"(?u)\b\w\w+\b" and str.lower unless told the regex and a UTF-8 locale explicitly.
TFIDF_OPTIONS = {"tokenexp": r"\w\w+", "locale": "C.UTF-8"}


class ExportError(RuntimeError):
    """The ONNX export does not reproduce scikit-learn's probabilities."""


def _final_estimator(model: Any) -> Any:
    return model.steps[-1][1] if isinstance(model, Pipeline) else model


def _options(model: Any) -> dict[int, dict[str, Any]]:
    # zipmap=False: emit a plain float tensor [n, k] rather than a list of dicts.
    options: dict[int, dict[str, Any]] = {id(_final_estimator(model)): {"zipmap": False}}
    if isinstance(model, Pipeline):
        for _, step in model.steps:
            if isinstance(step, TfidfVectorizer):
                if step.sublinear_tf:
                    raise ExportError("sublinear_tf=True does not convert faithfully to ONNX")
                options[id(step)] = dict(TFIDF_OPTIONS)
    return options


def to_onnx_float(model: Any, n_features: int) -> bytes:
    """ONNX bytes for a classifier over float32 [n, n_features]; outputs label, probabilities."""
    initial = [("input", FloatTensorType([None, n_features]))]
    onx = convert_sklearn(
        model, initial_types=initial, options=_options(model), target_opset=TARGET_OPSET
    )
    return _serialise(onx)


def to_onnx_text(pipeline: Pipeline) -> bytes:
    """ONNX bytes for a text pipeline over strings [n, 1]; outputs label, probabilities."""
    initial = [("text", StringTensorType([None, 1]))]
    onx = convert_sklearn(
        pipeline, initial_types=initial, options=_options(pipeline), target_opset=TARGET_OPSET
    )
    return _serialise(onx)


def _serialise(onx: Any) -> bytes:
    # skl2onnx names the graph with a random uuid; a fixed name makes identical training
    # runs produce byte-identical files (and so identical sha256 digests).
    onx.graph.name = "mitl_classifier"
    return onx.SerializeToString()


def onnx_probabilities(onnx_bytes: bytes, inputs: np.ndarray) -> np.ndarray:
    """Run an exported classifier and return its "probabilities" output as float64."""
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    feed = inputs.reshape(-1, 1) if inputs.dtype == object else inputs.astype(np.float32)
    return np.asarray(session.run(["probabilities"], {name: feed})[0], dtype=np.float64)


def check_export(onnx_bytes: bytes, model: Any, inputs: np.ndarray | list[str]) -> float:
    """Max |onnx - sklearn| probability difference on up to 500 inputs; raise ExportError if
    it exceeds EXPORT_TOLERANCE."""
    if isinstance(inputs, list):
        sample: Any = inputs[:_CHECK_ROWS]
        onnx_in = np.array(sample, dtype=object)
    else:
        sample = onnx_in = np.asarray(inputs, dtype=np.float32)[:_CHECK_ROWS]
    expected = model.predict_proba(sample)
    diff = float(np.abs(onnx_probabilities(onnx_bytes, onnx_in) - expected).max())
    if not diff <= EXPORT_TOLERANCE:
        raise ExportError(f"ONNX export differs from scikit-learn by {diff:.2e}")
    return diff
