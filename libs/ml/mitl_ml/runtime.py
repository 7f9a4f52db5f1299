"""Load a verified model bundle and score inputs with it.

`load_model` does every check it can up front (manifest, digests, ONNX loadability, shapes,
label count) and raises ModelLoadError; `LoadedModel.predict` only rejects bad inputs
(InvalidInput). Kinds:
- minilm-logreg: text -> shared MiniLMEncoder -> head.onnx (float [n, 384] -> probs [n, k]).
- minilm-int8-logreg: the same with the bundle's own int8 encoder.onnx (mitl_ml.quantize).
Either way the encoder's sha256 must be the one the head was trained on
(`training.encoder_sha256`); a bundle whose encoder differs, or whose quantized graph
onnxruntime cannot load or run, is refused.
- tfidf-logreg: text -> pipeline.onnx (string input -> probs), a single skl2onnx pipeline.
- vector-onnx: float vectors [n, vector_dim] -> head.onnx (any ONNX classifier -> probs).
- hybrid-logreg: text -> MiniLMEncoder and features.onnx (TF-IDF word and char n-grams), side
  by side -> head.onnx (float [n, 384 + width] -> probs [n, k]; with manifest `pooling`
  mean, leading: [n, 384 + 384 + width], the first wordpiece's state after the embedding).
  The encoder is the bundle's own int8 encoder.onnx if it carries one (trained on the
  default encoder; checked as for minilm-int8-logreg, by the same code), else the shared
  shipped one (older bundles).
- hybrid-ovr-onnx: the same inputs as hybrid-logreg into a one-vs-rest head.onnx (float
  [n, 384 + width] -> each label's own probability [n, k]; mitl_ml.text_ovr).
- pixels-logreg: images (PNG or JPEG bytes) -> grayscale pixels resized to image_size squared
  (mitl_ml.images) -> head.onnx (float [n, image_size ** 2] -> probs [n, k]).
- spacy-ner: text -> spaCy's pretrained pipeline with beam search -> entity spans with
  confidences (mitl_ml.spacy_ner); `ModelOutput.spans` and `spans_complete` are set.
- minilm-tagger: text -> the shipped MiniLM encoder's token states -> head.onnx tag
  probabilities per word -> spans (mitl_ml.tagger_model; ModelOutput.spans).
A text model whose manifest names another encoder than the runtime's is refused at load.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import onnx
from mitl_contracts.spans import Span

from mitl_ml import outlier
from mitl_ml.encoder import EMBEDDING_DIM, ENCODER_ID, MiniLMEncoder
from mitl_ml.errors import InvalidInput, ModelLoadError
from mitl_ml.hybrid import head_dense
from mitl_ml.images import pixel_matrix
from mitl_ml.inputs import check_images, check_texts, check_vectors
from mitl_ml.manifest import (
    HYBRID_KINDS,
    MINILM_KINDS,
    MULTILABEL_KINDS,
    SPAN_KINDS,
    ModelManifest,
    read_manifest,
    read_verified_files,
)
from mitl_ml.onnx_head import InputType, OnnxClassifier, OnnxFeatures

__all__ = [
    "EncoderPool",
    "InvalidInput",
    "LoadedModel",
    "ModelLoadError",
    "ModelOutput",
    "load_model",
]

# File role that holds the ONNX classifier, per model kind.
CLASSIFIER_ROLE = {
    "minilm-logreg": "head",
    "minilm-int8-logreg": "head",
    "tfidf-logreg": "pipeline",
    "vector-onnx": "head",
    "hybrid-logreg": "head",
    "pixels-logreg": "head",
    "vector-ovr-onnx": "head",
    "hybrid-ovr-onnx": "head",
}
# Integer kernels a quantized encoder graph must contain (else it runs in fp32).
INTEGER_OPS = frozenset({"MatMulInteger", "DynamicQuantizeMatMul"})
# Kinds whose input is embedded by a MiniLM encoder first (the hybrid kinds also read TF-IDF
# features, features.onnx, beside the embeddings).
ENCODER_KINDS = MINILM_KINDS | HYBRID_KINDS
# Kinds that run on the shared shipped encoder (a hybrid one only when it carries none).
SHIPPED_ENCODER_KINDS = frozenset({"minilm-logreg", "minilm-tagger"}) | HYBRID_KINDS


@dataclass(frozen=True)
class ModelOutput:
    """Scores for n inputs, in input order.

    probabilities: float64 [n, k], columns in `LoadedModel.labels` order, rows sum to 1; for a
        multi-label model (`LoadedModel.multilabel`) each label's own probability instead.
    outlier_scores: float64 [n]; ~1.0 = edge of the training distribution, > 1 unusual,
        0 when the model has no outlier calibration (see mitl_ml.outlier).
    truncated: input i was cut to the encoder's 128-token limit (always False if no encoder).
    embeddings: float32 [n, 384] sentence embeddings for minilm models, else None.
    spans: a span model's (SPAN_KINDS) entities for each input, each span with its confidence;
        None for other models. `probabilities` are then each label's highest span confidence
        per input, scaled to sum to 1 (mitl_contracts.events.distribution_of).
    spans_complete: a span model's confidence, per input, that no entity is missing.
    """

    probabilities: np.ndarray
    outlier_scores: np.ndarray
    truncated: list[bool]
    embeddings: np.ndarray | None
    spans: list[list[Span]] | None = None
    spans_complete: list[float] | None = None


class SpanFinder(Protocol):
    """A span model's own runner (mitl_ml.spacy_ner.SpacyNer): checked texts in, spans out."""

    def predict(self, texts: list[str]) -> ModelOutput: ...


class LoadedModel:
    """A servable model version; construct with `load_model`. Thread-safe for `predict`.
    A span model (SPAN_KINDS) has a `span_finder` and no classifier."""

    def __init__(
        self,
        manifest: ModelManifest,
        classifier: OnnxClassifier | None,
        encoder: MiniLMEncoder | None,
        centroids: np.ndarray | None,
        features: OnnxFeatures | None = None,
        span_finder: SpanFinder | None = None,
    ) -> None:
        if (classifier is None) == (span_finder is None):
            raise ValueError("a model has either an ONNX classifier or a span finder")
        self.manifest = manifest
        self._classifier = classifier
        self._encoder = encoder
        self._centroids = centroids
        self._features = features
        self._span_finder = span_finder

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def labels(self) -> list[str]:
        return list(self.manifest.labels)

    @property
    def encoder(self) -> MiniLMEncoder | None:
        """The sentence encoder this model runs (minilm and hybrid kinds), to share with others."""
        return self._encoder

    @property
    def input_kind(self) -> str:
        return self.manifest.input_kind

    @property
    def reads_leading(self) -> bool:
        """Does the head read the leading wordpiece's state after the embedding?"""
        return "leading" in self.manifest.pooling

    @property
    def multilabel(self) -> bool:
        """Does the model give each label its own probability (a one-vs-rest head)?"""
        return self.manifest.kind in MULTILABEL_KINDS

    @property
    def finds_spans(self) -> bool:
        """Does the model find entity spans in texts (a span dataset's model)?"""
        return self.manifest.kind in SPAN_KINDS

    def predict(self, inputs: Sequence[str | bytes] | np.ndarray) -> ModelOutput:
        """Score `inputs`: a list of str for text models, a float array [n, d] for vector ones,
        a list of image bytes (PNG or JPEG) for image ones.

        Raises InvalidInput for the wrong input kind, a wrong vector width, NaN/inf, or an
        image that does not decode.
        """
        embeddings: np.ndarray | None = None
        if self._span_finder is not None:
            return self._span_finder.predict(check_texts(inputs))
        assert self._classifier is not None  # a model without a span finder has one
        if self.input_kind == "text":
            texts = check_texts(inputs)
            truncated = [False] * len(texts)
            if self._encoder is not None:
                encoded = self._encoder.encode(texts)
                embeddings, truncated = encoded.embeddings, encoded.truncated
                x = embeddings
                if self._features is not None:
                    tfidf = self._features.run(np.array(texts, dtype=object))
                    leading = encoded.dense()[1] if self.reads_leading else None
                    x = np.hstack([*head_dense(embeddings, leading), tfidf])
                probs = self._classifier.run(x)
            else:
                probs = self._classifier.run(np.array(texts, dtype=object))
            space = embeddings
        elif self.input_kind == "image":
            images = check_images(inputs)
            vectors = pixel_matrix(images, self.manifest.image_size or 0)
            probs = self._classifier.run(vectors)
            truncated, space = [False] * len(vectors), vectors
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


class EncoderPool:
    """The encoder sessions a process shares between its MiniLM models, by graph sha256: one
    session per distinct encoder however many heads use it (the encoder is the big part)."""

    def __init__(self, intra_op_threads: int, allow_spinning: bool) -> None:
        self.intra_op_threads = intra_op_threads
        self.allow_spinning = allow_spinning
        self._by_sha256: dict[str, MiniLMEncoder] = {}
        self._lock = threading.Lock()

    def for_manifest(self, manifest: ModelManifest) -> MiniLMEncoder | None:
        """The shared encoder `manifest` names, if loaded (the shipped one is loaded on
        demand); None for a model without encoder or one not loaded yet."""
        if manifest.kind in SHIPPED_ENCODER_KINDS and not manifest.carries_encoder:
            with self._lock:
                shipped = next((e for e in self._by_sha256.values() if not e.quantization), None)
                if shipped is None:
                    shipped = MiniLMEncoder(
                        self.intra_op_threads, allow_spinning=self.allow_spinning
                    )
                    self._by_sha256[shipped.sha256] = shipped
                return shipped
        if manifest.encoder is None:
            return None
        return self._by_sha256.get(manifest.encoder.sha256)

    def keep(self, encoder: MiniLMEncoder) -> None:
        with self._lock:
            self._by_sha256.setdefault(encoder.sha256, encoder)

    def loaded(self) -> list[str]:
        """sha256 of every encoder held."""
        return sorted(self._by_sha256)


def load_model(
    bundle_dir: Path,
    intra_op_threads: int = 2,
    encoder: MiniLMEncoder | EncoderPool | None = None,
    allow_spinning: bool = True,
) -> LoadedModel:
    """Load and verify the bundle at `bundle_dir`.

    minilm models use `encoder` if given and it is the encoder the bundle needs (same
    sha256; so many heads share one encoder session), else create one; with an EncoderPool,
    the pool's encoder of that sha256, and a created one is kept in the pool; `allow_spinning` as
    in mitl_ml.encoder.session_options. Raises ModelLoadError naming the problem:
    unreadable/invalid manifest, missing file, sha256 mismatch, ONNX that onnxruntime rejects,
    ONNX inputs/outputs that do not match the manifest (input width, input type, number of
    classes), an encoder other than the one the head was trained on, or a quantized encoder
    graph that does not load, has no integer kernels or does not embed.
    """
    manifest = read_manifest(bundle_dir)
    contents = read_verified_files(bundle_dir, manifest)
    if manifest.kind == "spacy-ner":
        from mitl_ml.spacy_ner import load_spacy_ner  # imports spaCy: only for span models

        return LoadedModel(
            manifest, None, None, None, span_finder=load_spacy_ner(manifest, contents)
        )
    if manifest.kind == "minilm-tagger":
        from mitl_ml.tagger_model import load_tagger  # it builds on this module

        pool = encoder if isinstance(encoder, EncoderPool) else None
        shared = pool.for_manifest(manifest) if pool is not None else encoder
        assert not isinstance(shared, EncoderPool)
        tagger = load_tagger(manifest, contents, shared, intra_op_threads, allow_spinning)
        if pool is not None and tagger.encoder is not None:
            pool.keep(tagger.encoder)
        return tagger
    role = CLASSIFIER_ROLE.get(manifest.kind)
    if role is None:
        raise ModelLoadError(f"kind {manifest.kind} has no runner in this runtime")
    if role not in manifest.files:
        raise ModelLoadError(f"manifest.files has no {role!r} entry for kind {manifest.kind}")
    n_classes = len(manifest.labels)
    input_type: InputType
    input_dim: int | None
    if manifest.kind == "tfidf-logreg":
        input_type, input_dim = "string", None
    elif manifest.kind in ENCODER_KINDS:
        input_type, input_dim = "float", EMBEDDING_DIM
    elif manifest.input_kind == "image":
        input_type, input_dim = "float", (manifest.image_size or 0) ** 2
    else:
        input_type, input_dim = "float", manifest.vector_dim
    centroid_dim = input_dim
    features = None
    if manifest.kind in HYBRID_KINDS:
        if "features" not in manifest.files:
            raise ModelLoadError(f"manifest.files has no 'features' entry for kind {manifest.kind}")
        features = OnnxFeatures(
            manifest.files["features"],
            contents[manifest.files["features"]],
            intra_op_threads=intra_op_threads,
            allow_spinning=allow_spinning,
        )
        input_dim = EMBEDDING_DIM * len(manifest.pooling) + features.width
    classifier = OnnxClassifier(
        manifest.files[role],
        contents[manifest.files[role]],
        n_classes=n_classes,
        input_type=input_type,
        input_dim=input_dim,
        intra_op_threads=intra_op_threads,
        allow_spinning=allow_spinning,
        independent=manifest.kind in MULTILABEL_KINDS,
    )
    _check_outlier_spec(manifest)
    centroids = _load_centroids(manifest, contents, centroid_dim)
    use_encoder = None
    if manifest.kind in ENCODER_KINDS:
        pool = encoder if isinstance(encoder, EncoderPool) else None
        shared = pool.for_manifest(manifest) if pool is not None else encoder
        assert not isinstance(shared, EncoderPool)
        use_encoder = _encoder_for(manifest, contents, shared, intra_op_threads, allow_spinning)
        if pool is not None:
            pool.keep(use_encoder)
    return LoadedModel(manifest, classifier, use_encoder, centroids, features)


def _encoder_for(
    manifest: ModelManifest,
    contents: dict[str, bytes],
    shared: MiniLMEncoder | None,
    intra_op_threads: int,
    allow_spinning: bool,
) -> MiniLMEncoder:
    """The encoder a minilm or hybrid bundle's head was trained on, checked (see load_model):
    the shared shipped one, or the quantized one the bundle carries."""
    trained_on = manifest.training.get("encoder_sha256")
    if not manifest.carries_encoder:
        if (used := manifest.training.get("encoder", ENCODER_ID)) != ENCODER_ID:
            raise ModelLoadError(f"training.encoder is {used!r}, runtime has {ENCODER_ID!r}")
        encoder = shared
        if encoder is None or encoder.quantization:
            encoder = MiniLMEncoder(intra_op_threads, allow_spinning=allow_spinning)
        # Bundles made before encoder digests were recorded name the encoder by id only.
        if trained_on is not None and trained_on != encoder.sha256:
            raise ModelLoadError(
                f"encoder mismatch: the head was trained on {ENCODER_ID} with sha256 "
                f"{trained_on[:12]}…, the shipped encoder here is {encoder.sha256[:12]}…"
            )
        return encoder
    name = manifest.files["encoder"]
    digest = manifest.sha256[name]  # read_verified_files checked the file against it
    info = manifest.encoder
    assert info is not None  # the manifest validator requires it with files["encoder"]
    if trained_on != digest:
        raise ModelLoadError(
            f"encoder mismatch: {name} is {digest[:12]}…, but the head was trained on encoder "
            f"{str(trained_on)[:12]}… (training.encoder_sha256)"
        )
    if info.sha256 != digest:
        raise ModelLoadError(
            f"encoder mismatch: manifest.encoder.sha256 is {info.sha256[:12]}…, {name} is "
            f"{digest[:12]}…"
        )
    if shared is not None and shared.sha256 == digest:
        return shared
    graph = contents[name]
    try:
        ops = {node.op_type for node in onnx.load_from_string(graph).graph.node}
        encoder = None
        if ops & INTEGER_OPS:
            encoder = MiniLMEncoder(
                intra_op_threads,
                allow_spinning=allow_spinning,
                model_bytes=graph,
                quantization=info.quantization,
            )
            probe = encoder.encode(["Is this encoder whole ?"]).embeddings
    except Exception as error:  # onnx and onnxruntime raise their own types for a bad graph
        raise ModelLoadError(
            f"{name} (encoder): onnxruntime cannot load or run the quantized graph: "
            f"{type(error).__name__}: {error}"
        ) from None
    if encoder is None:
        raise ModelLoadError(
            f"{name} (encoder): quantization {_recipe_name(info.quantization)!r} recorded, but "
            f"the graph has no integer kernels ({sorted(INTEGER_OPS)}): it would run in fp32"
        )
    if probe.shape != (1, EMBEDDING_DIM) or not np.all(np.isfinite(probe)):
        raise ModelLoadError(f"{name} (encoder): embeds to {probe.shape}, not finite 384 values")
    return encoder


def _recipe_name(quantization: dict[str, Any]) -> str:
    recipe = quantization.get("recipe")
    return str(recipe.get("name") if isinstance(recipe, dict) else recipe)


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
