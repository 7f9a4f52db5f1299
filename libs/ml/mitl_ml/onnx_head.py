"""A checked onnxruntime session for an ONNX classifier that outputs class probabilities.

Checks happen once at load (input kind/width, output width == number of labels, outputs look
like probabilities on a probe row), so a wrong bundle fails at deploy time with a message,
not with a shape error on the first real request.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import onnxruntime as ort

from mitl_ml.encoder import session_options
from mitl_ml.errors import ModelLoadError

InputType = Literal["float", "string"]
_FLOAT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64}
_PROBE_TOLERANCE = 1e-3


def cpu_session(
    file_name: str, data: bytes, intra_op_threads: int, allow_spinning: bool
) -> ort.InferenceSession:
    """An onnxruntime CPU session of `data`; ModelLoadError naming `file_name` if it does not
    load."""
    options = session_options(intra_op_threads, allow_spinning)
    try:
        return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises several private exception types
        raise ModelLoadError(f"{file_name}: onnxruntime cannot load it: {exc}") from exc


class OnnxClassifier:
    """Runs one ONNX classifier; `run` returns float64 probabilities [n, n_classes].

    The probability output is the one named "probabilities" (skl2onnx with zipmap=False),
    else the second of two outputs (skl2onnx's label, probabilities), else the only output.
    Column order is taken to be the manifest's label order.
    """

    def __init__(
        self,
        file_name: str,
        data: bytes,
        *,
        n_classes: int,
        input_type: InputType,
        input_dim: int | None = None,
        intra_op_threads: int = 2,
        allow_spinning: bool = True,
        independent: bool = False,
    ) -> None:
        self.file_name = file_name
        # independent: one probability per label (multi-label), rows need not sum to 1.
        self.independent = independent
        self._session = cpu_session(file_name, data, intra_op_threads, allow_spinning)
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise self._error(f"expected 1 input, found {len(inputs)}")
        self._input = inputs[0]
        self._input_rank = len(self._input.shape)
        self._check_input(input_type, input_dim)
        self._output = self._probability_output()
        self.n_classes = n_classes
        self._probe(input_type, input_dim)

    def _error(self, problem: str) -> ModelLoadError:
        return ModelLoadError(f"{self.file_name}: {problem}")

    def _check_input(self, input_type: InputType, input_dim: int | None) -> None:
        kind, shape = self._input.type, self._input.shape
        if input_type == "string":
            if kind != "tensor(string)":
                raise self._error(f"input {self._input.name!r} is {kind}, expected a string")
            return
        if kind not in _FLOAT_TYPES:
            raise self._error(f"input {self._input.name!r} is {kind}, expected float")
        self._dtype = _FLOAT_TYPES[kind]
        width = shape[-1] if len(shape) == 2 else None
        if len(shape) != 2 or (isinstance(width, int) and width != input_dim):
            raise self._error(f"input shape {shape}, expected [batch, {input_dim}]")

    def _probability_output(self) -> str:
        outputs = self._session.get_outputs()
        by_name = {o.name: o for o in outputs}
        if "probabilities" in by_name:
            chosen = by_name["probabilities"]
        elif len(outputs) in (1, 2):
            chosen = outputs[-1]
        else:
            raise self._error(f"cannot tell which of {list(by_name)} holds probabilities")
        if not chosen.type.startswith("tensor("):
            raise self._error(
                f"output {chosen.name!r} is {chosen.type} (a ZipMap?); export with zipmap=False"
            )
        return chosen.name

    def _probe(self, input_type: InputType, input_dim: int | None) -> None:
        # Static ONNX shapes often leave the class dimension symbolic, so run one row to see.
        probe: np.ndarray
        if input_type == "string":
            probe = np.array(["probe text"], dtype=object)
        else:
            probe = np.zeros((1, input_dim or 0), dtype=np.float32)
        try:
            out = self._raw(probe)
        except Exception as exc:
            raise self._error(f"probe inference failed: {exc}") from exc
        if out.shape != (1, self.n_classes):
            raise self._error(
                f"output {self._output!r} has shape {out.shape[1:]} per row, "
                f"expected {self.n_classes} classes (one per manifest label)"
            )
        if self.independent:
            if not np.all(np.isfinite(out)) or out.min() < 0 or out.max() > 1:
                raise self._error(f"output {self._output!r} is not per-label probabilities")
            return
        total = float(out.sum())
        if not np.all(np.isfinite(out)) or out.min() < 0 or abs(total - 1.0) > _PROBE_TOLERANCE:
            raise self._error(f"output {self._output!r} is not a probability distribution")

    def _raw(self, x: np.ndarray) -> np.ndarray:
        if self._input.type == "tensor(string)":
            feed = x.reshape(-1, 1) if self._input_rank == 2 else x.reshape(-1)
        else:
            feed = x.astype(self._dtype, copy=False)
        result = self._session.run([self._output], {self._input.name: feed})[0]
        return np.asarray(result, dtype=np.float64)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Probabilities [n, k] float64; rows clipped at 0 and renormalised to sum to 1 (an
        independent head's clipped to [0, 1] instead)."""
        if len(x) == 0:
            return np.zeros((0, self.n_classes))
        if self.independent:
            return np.clip(self._raw(x), 0.0, 1.0)
        probs = np.clip(self._raw(x), 0.0, None)
        return probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-300)


class OnnxFeatures:
    """Runs a text features graph (strings "text" [n, 1] -> float "features" [n, width]), the
    TF-IDF part of a hybrid model; the width is read from a probe row at load."""

    def __init__(
        self, file_name: str, data: bytes, *, intra_op_threads: int = 2, allow_spinning: bool = True
    ) -> None:
        self.file_name = file_name
        self._session = cpu_session(file_name, data, intra_op_threads, allow_spinning)
        inputs = {i.name: i.type for i in self._session.get_inputs()}
        outputs = {o.name: o.type for o in self._session.get_outputs()}
        if inputs != {"text": "tensor(string)"} or outputs.get("features") != "tensor(float)":
            raise ModelLoadError(
                f"{file_name}: expected input text (string) and output features (float), "
                f"found inputs {inputs} and outputs {outputs}"
            )
        try:
            self.width = int(self.run(np.array(["probe text"], dtype=object)).shape[1])
        except Exception as exc:
            raise ModelLoadError(f"{file_name}: probe inference failed: {exc}") from exc

    def run(self, texts: np.ndarray) -> np.ndarray:
        """float32 [n, width] features of the texts."""
        feed = np.asarray(texts, dtype=object).reshape(-1, 1)
        return np.asarray(self._session.run(["features"], {"text": feed})[0], dtype=np.float32)
