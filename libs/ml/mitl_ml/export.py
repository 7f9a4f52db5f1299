"""Convert fitted scikit-learn classifiers to ONNX and prove the export is faithful.

Every export is re-run in onnxruntime on (a sample of) the training inputs and compared with
scikit-learn's predict_proba; a drift above EXPORT_TOLERANCE aborts training instead of
shipping a model that serves different numbers than it was evaluated with.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import skl2onnx._parse
import skl2onnx.convert
from onnx import compose, helper, numpy_helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

# Opset 17 / ai.onnx.ml 3 are well inside what onnxruntime 1.32 implements and what
# skl2onnx 1.20 emits for linear models and TF-IDF, so bundles stay loadable by older ORT.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
EXPORT_TOLERANCE = 1e-4
# The start of the warning skl2onnx gives for a character-analyzer vectorizer (a regex).
CHAR_ANALYZER_WARNING = "The conversion of CountVectorizer may not work"
_CHECK_ROWS = 500
# skl2onnx's default tokenizer and lower-casing differ from scikit-learn's token_pattern
# r"(?u)\b\w\w+\b" and str.lower unless told the regex and a UTF-8 locale explicitly.
TFIDF_OPTIONS = {"tokenexp": r"\w\w+", "locale": "C.UTF-8"}
# onnxruntime's regex engine (RE2) reads \w as ASCII only; Python's \w also matches accented
# letters, so "café" would lose its token. Unicode classes match what scikit-learn splits.
UNICODE_TOKENS = r"[\pL\pN\pM_][\pL\pN\pM_]+"


_walking_process_options = skl2onnx.convert._process_options


def _process_options(model: Any, options: Any) -> Any:
    """skl2onnx's option resolution without its walk over fitted data, where the walk cannot
    change the answer. skl2onnx looks for pipelines inside the model to pass 'zipmap'-like
    options from a pipeline to its last step, and to do so walks every attribute ending in
    "_", recursing into dicts: a TF-IDF vocabulary of tens of thousands of n-grams took
    ~3 s per conversion, twice per conversion (and two vectorizers per hybrid model). With
    options keyed by object id (as every call here keys them) and no pipeline among those
    keys or nested in the model, the resolution returns the options unchanged; anything
    else goes through skl2onnx's own code (tests/unit/ml/test_ml_export_options.py holds
    the two to the same answer)."""
    if options is None or not all(isinstance(key, int) for key in options):
        return _walking_process_options(model, options)
    if isinstance(model, TfidfVectorizer) or (
        isinstance(model, Pipeline)
        and id(model) not in options
        and all(type(step).__module__.startswith(_PLAIN_STEPS) for _, step in model.steps)
    ):
        return options
    return _walking_process_options(model, options)


# Modules whose estimators hold no other estimator (so no pipeline can hide inside them).
_PLAIN_STEPS = ("sklearn.feature_extraction", "sklearn.linear_model", "sklearn.preprocessing")


# Both places skl2onnx resolves options (convert_sklearn and parse_sklearn_model).
skl2onnx.convert._process_options = _process_options
skl2onnx._parse._process_options = _process_options


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


def _vectorizer_options(vectorizer: TfidfVectorizer) -> dict[str, Any]:
    if vectorizer.sublinear_tf:
        raise ExportError("sublinear_tf=True does not convert faithfully to ONNX")
    if vectorizer.analyzer == "word":
        return {"tokenexp": UNICODE_TOKENS, "locale": TFIDF_OPTIONS["locale"]}
    # Character n-grams: skl2onnx splits into characters itself (no token regex).
    return {"tokenexp": None, "locale": TFIDF_OPTIONS["locale"]}


def to_onnx_tfidf_features(vectorizers: Sequence[TfidfVectorizer]) -> bytes:
    """ONNX bytes: strings "text" [n, 1] -> float "features" [n, sum of vocabulary sizes], the
    fitted vectorizers' dense outputs side by side in the given order."""
    parts, outputs = [], []
    for index, vectorizer in enumerate(vectorizers):
        with warnings.catch_warnings():
            # skl2onnx warns that a character analyzer "may not work"; every caller checks
            # the graph against scikit-learn on real rows before it is used (EXPORT_TOLERANCE).
            warnings.filterwarnings("ignore", CHAR_ANALYZER_WARNING, UserWarning)
            onx = convert_sklearn(
                vectorizer,
                initial_types=[("text", StringTensorType([None, 1]))],
                options={id(vectorizer): _vectorizer_options(vectorizer)},
                target_opset=TARGET_OPSET,
            )
        onx = compose.add_prefix(onx, f"v{index}_")
        parts.append(onx)
        outputs.append(onx.graph.output[0].name)
    nodes = [helper.make_node("Identity", ["text"], [f"v{i}_text"]) for i in range(len(parts))]
    for part in parts:
        nodes.extend(part.graph.node)
    nodes.append(helper.make_node("Concat", outputs, ["features"], axis=1))
    graph = helper.make_graph(
        nodes,
        "mitl_features",
        [helper.make_tensor_value_info("text", onnx.TensorProto.STRING, [None, 1])],
        [helper.make_tensor_value_info("features", onnx.TensorProto.FLOAT, [None, None])],
        initializer=[init for part in parts for init in part.graph.initializer],
    )
    opsets = {(o.domain, o.version) for part in parts for o in part.opset_import}
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(domain, version) for domain, version in opsets]
    )
    model.ir_version = parts[0].ir_version
    return _serialise(model)


def onnx_features(onnx_bytes: bytes, texts: Sequence[str]) -> np.ndarray:
    """Run a features graph (to_onnx_tfidf_features) on `texts`: float32 [n, width]."""
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    feed = np.array(list(texts), dtype=object).reshape(-1, 1)
    return np.asarray(session.run(["features"], {"text": feed})[0], dtype=np.float32)


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


def linear_head_onnx(
    mean: np.ndarray,
    scale: np.ndarray,
    coef: np.ndarray,
    intercept: np.ndarray,
    activation: str,
    name: str,
) -> bytes:
    """The ONNX graph of a standardised linear head: (input - mean) / scale, times coef
    [k, d] plus intercept [k], then `activation` ("Softmax" over the k outputs, or "Sigmoid"
    on each)."""
    d = int(coef.shape[1])
    initializers = [
        numpy_helper.from_array(np.asarray(mean, np.float32).reshape(1, d), "mean"),
        numpy_helper.from_array(np.asarray(scale, np.float32).reshape(1, d), "scale"),
        numpy_helper.from_array(np.ascontiguousarray(coef.T, np.float32), "weights"),
        numpy_helper.from_array(np.asarray(intercept, np.float32), "bias"),
    ]
    nodes = [
        helper.make_node("Sub", ["input", "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "scale"], ["scaled"]),
        helper.make_node("MatMul", ["scaled", "weights"], ["logits_raw"]),
        helper.make_node("Add", ["logits_raw", "bias"], ["logits"]),
        (
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)
            if activation == "Softmax"
            else helper.make_node(activation, ["logits"], ["probabilities"])
        ),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [None, d])],
        [helper.make_tensor_value_info("probabilities", onnx.TensorProto.FLOAT, [None, None])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", TARGET_OPSET[""])])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()
