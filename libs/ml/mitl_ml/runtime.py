"""Load a verified model bundle and score inputs with it.

`load_model` does every check it can up front (manifest, digests, ONNX loadability, shapes,
label count) and raises ModelLoadError; `LoadedModel.predict` only rejects bad inputs
(InvalidInput). Kinds:
- minilm-logreg: text -> shared MiniLMEncoder -> head.onnx (float [n, 384] -> probs [n, k]).
- tfidf-logreg: text -> pipeline.onnx (string input -> probs), a single skl2onnx pipeline.
- vector-onnx: float vectors [n, vector_dim] -> head.onnx (any ONNX classifier -> probs).
- hybrid-logreg: text -> shared MiniLMEncoder and features.onnx (TF-IDF word and char
  n-grams), side by side -> head.onnx (float [n, 384 + width] -> probs [n, k]).
A text model whose manifest names another encoder than the runtime's is refused at load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mitl_ml import outlier
from mitl_ml.encoder import EMBEDDING_DIM, ENCODER_ID, MiniLMEncoder
from mitl_ml.errors import InvalidInput, ModelLoadError
from mitl_ml.inputs import check_texts, check_vectors
from mitl_ml.manifest import ModelManifest, read_manifest, read_verified_files
from mitl_ml.onnx_head import InputType, OnnxClassifier, OnnxFeatures

__all__ = ["InvalidInput", "LoadedModel", "ModelLoadError", "ModelOutput", "load_model"]

# File role that holds the ONNX classifier, per model kind.
CLASSIFIER_ROLE = {
    "minilm-logreg": "head",
    "tfidf-logreg": "pipeline",
    "vector-onnx": "head",
    "hybrid-logreg": "head",
}
# Kinds whose input is embedded by the shared MiniLM encoder first.
ENCODER_KINDS = ("minilm-logreg", "hybrid-logreg")


@dataclass(frozen=True)
class ModelOutput:
    """Scores for n inputs, in input order.

    probabilities: float64 [n, k], columns in `LoadedModel.labels` order, rows sum to 1.
    outlier_scores: float64 [n]; ~1.0 = edge of the training distribution, > 1 unusual,
        0 when the model has no outlier calibration (see mitl_ml.outlier).
    truncated: input i was cut to the encoder's 128-token limit (always False if no encoder).
    embeddings: float32 [n, 384] sentence embeddings for minilm models, else None.
    """

    probabilities: np.ndarray
    outlier_scores: np.ndarray
    truncated: list[bool]
    embeddings: np.ndarray | None


class LoadedModel:
    """A servable model version; construct with `load_model`. Thread-safe for `predict`."""

    def __init__(
        self,
        manifest: ModelManifest,
        classifier: OnnxClassifier,
        encoder: MiniLMEncoder | None,
        centroids: np.ndarray | None,
        features: OnnxFeatures | None = None,
    ) -> None:
        self.manifest = manifest
        self._classifier = classifier
        self._encoder = encoder
        self._centroids = centroids
        self._features = features

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def labels(self) -> list[str]:
        return list(self.manifest.labels)

    @property
    def input_kind(self) -> str:
        return self.manifest.input_kind

    def predict(self, inputs: Sequence[str] | np.ndarray) -> ModelOutput:
        """Score `inputs`: a list of str for text models, a float array [n, d] for vector ones.

        Raises InvalidInput for the wrong input kind, a wrong vector width, or NaN/inf.
        """
        embeddings: np.ndarray | None = None
        if self.input_kind == "text":
            texts = check_texts(inputs)
            truncated = [False] * len(texts)
            if self._encoder is not None:
                encoded = self._encoder.encode(texts)
                embeddings, truncated = encoded.embeddings, encoded.truncated
                x = embeddings
                if self._features is not None:
                    tfidf = self._features.run(np.array(texts, dtype=object))
                    x = np.hstack([embeddings, tfidf])
                probs = self._classifier.run(x)
            else:
                probs = self._classifier.run(np.array(texts, dtype=object))
            space = embeddings
        else:
            vectors = check_vectors(inputs, self.manifest.vector_dim or 0)
            probs = self._classifier.run(vectors)
            truncated, space = [False] * len(vectors), vectors
        return ModelOutput(probs, self._outlier(probs, space), truncated, embeddings)

    def _outlier(self, probs: np.ndarray, space: np.ndarray | None) -> np.ndarray:
        spec: dict[str, Any] = self.manifest.outlier
        method = spec.get("method", "none")
        if method == "centroid-cosine" and self._centroids is not None and space is not None:
            raw = outlier.centroid_distance(space, self._centroids)
        elif method == "max-prob":
            raw = outlier.max_prob_distance(probs)
        else:
            return np.zeros(len(probs))
        return outlier.scaled(raw, spec)


def load_model(
    bundle_dir: Path,
    intra_op_threads: int = 2,
    encoder: MiniLMEncoder | None = None,
    allow_spinning: bool = True,
) -> LoadedModel:
    """Load and verify the bundle at `bundle_dir`.

    minilm models use `encoder` if given (so many heads share one encoder session), else
    create one; `allow_spinning` as in mitl_ml.encoder.session_options. Raises
    ModelLoadError naming the problem: unreadable/invalid manifest, missing file, sha256
    mismatch, ONNX that onnxruntime rejects, or ONNX inputs/outputs that do not match the
    manifest (input width, input type, number of classes).
    """
    manifest = read_manifest(bundle_dir)
    contents = read_verified_files(bundle_dir, manifest)
    role = CLASSIFIER_ROLE[manifest.kind]
    if role not in manifest.files:
        raise ModelLoadError(f"manifest.files has no {role!r} entry for kind {manifest.kind}")
    n_classes = len(manifest.labels)
    input_type: InputType
    input_dim: int | None
    if manifest.kind == "tfidf-logreg":
        input_type, input_dim = "string", None
    elif manifest.kind in ENCODER_KINDS:
        input_type, input_dim = "float", EMBEDDING_DIM
        if (used := manifest.training.get("encoder", ENCODER_ID)) != ENCODER_ID:
            raise ModelLoadError(
                f"{manifest.kind} head was trained on encoder {used!r} but the runtime's "
                f"encoder is {ENCODER_ID!r}"
            )
    else:
        input_type, input_dim = "float", manifest.vector_dim
    centroid_dim = input_dim
    features = None
    if manifest.kind == "hybrid-logreg":
        if "features" not in manifest.files:
            raise ModelLoadError("manifest.files has no 'features' entry for kind hybrid-logreg")
        features = OnnxFeatures(
            manifest.files["features"],
            contents[manifest.files["features"]],
            intra_op_threads=intra_op_threads,
            allow_spinning=allow_spinning,
        )
        input_dim = EMBEDDING_DIM + features.width
    classifier = OnnxClassifier(
        manifest.files[role],
        contents[manifest.files[role]],
        n_classes=n_classes,
        input_type=input_type,
        input_dim=input_dim,
        intra_op_threads=intra_op_threads,
        allow_spinning=allow_spinning,
    )
    _check_outlier_spec(manifest)
    centroids = _load_centroids(manifest, contents, centroid_dim)
    if manifest.kind in ENCODER_KINDS and encoder is None:
        encoder = MiniLMEncoder(intra_op_threads=intra_op_threads, allow_spinning=allow_spinning)
    use_encoder = encoder if manifest.kind in ENCODER_KINDS else None
    return LoadedModel(manifest, classifier, use_encoder, centroids, features)


def _check_outlier_spec(manifest: ModelManifest) -> None:
    # Catch specs that would otherwise silently yield all-zero outlier scores at predict time.
    method, scale = manifest.outlier.get("method", "none"), manifest.outlier.get("scale")
    allowed = {"none", "max-prob"} | (
        {"centroid-cosine"} if manifest.kind != "tfidf-logreg" else set()
    )
    if method not in allowed:
        raise ModelLoadError(f"manifest.outlier method {method!r} not usable for {manifest.kind}")
    if method != "none" and not (isinstance(scale, int | float) and scale > 0):
        raise ModelLoadError(f"manifest.outlier method {method!r} needs a positive 'scale'")


def _load_centroids(
    manifest: ModelManifest, contents: dict[str, bytes], dim: int | None
) -> np.ndarray | None:
    if manifest.outlier.get("method") != "centroid-cosine":
        return None
    name = manifest.files.get("centroids")
    if name is None:
        raise ModelLoadError("outlier method centroid-cosine but manifest.files has no centroids")
    try:
        centroids = outlier.load_npy(contents[name])
    except (ValueError, EOFError, OSError) as exc:
        raise ModelLoadError(f"{name}: not a readable .npy array: {exc}") from exc
    expected = (len(manifest.labels), dim)
    if centroids.shape != expected or not np.all(np.isfinite(centroids)):
        raise ModelLoadError(f"{name}: shape {centroids.shape}, expected finite {expected}")
    return centroids
