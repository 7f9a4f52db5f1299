"""Turn a fitted, exported classifier into bundle contents: (ModelManifest, {file: bytes}).

Shared by every trainer so all bundles get the same guarantees: the ONNX export is checked
against scikit-learn, train/holdout metrics are computed from the ONNX bytes that will be
served, and the outlier score is calibrated on the training set (see mitl_ml.outlier).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Generic, NotRequired, TypedDict, TypeVar

import numpy as np
import sklearn

from mitl_ml import outlier
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.export import TARGET_OPSET, check_export, onnx_probabilities
from mitl_ml.manifest import EncoderInfo, ModelKind, ModelManifest, with_digests
from mitl_ml.metrics import classification_metrics

Bundle = tuple[ModelManifest, dict[str, bytes]]
Inputs = TypeVar("Inputs")


class Run(TypedDict, Generic[Inputs]):
    """What every trainer (mitl_ml.train) takes besides its data and model settings: the seed,
    the bundle's name, version and dataset, and optionally held-out (inputs, labels) to
    measure and per-example weights."""

    seed: int
    name: str
    version: str
    dataset: str
    holdout: NotRequired[tuple[Inputs, Sequence[str]] | None]
    sample_weight: NotRequired[np.ndarray | None]


def _as_array(inputs: Any, strings: bool) -> np.ndarray:
    # onnx_probabilities takes object arrays for text and float32 arrays for vectors.
    if strings:
        return np.array(list(inputs), dtype=object)
    return np.asarray(inputs, dtype=np.float32)


def label_indices(
    labels: Sequence[str], label_set: Sequence[str], *, all_needed: bool
) -> np.ndarray:
    """Label strings -> indices into label_set; ValueError for unknown labels and, with
    `all_needed`, for a label_set class that has no example."""
    index = {label: i for i, label in enumerate(label_set)}
    if len(index) != len(label_set) or len(index) < 2:
        raise ValueError("label_set must hold at least two distinct labels")
    if unknown := sorted(set(labels) - set(index)):
        raise ValueError(f"labels {unknown} are not in label_set")
    if all_needed and (missing := [lab for lab in label_set if lab not in set(labels)]):
        raise ValueError(f"no training examples for {missing}; every class needs at least one")
    return np.array([index[label] for label in labels], dtype=np.int64)


def package_classifier(
    *,
    kind: ModelKind,
    model: Any,
    onnx_bytes: bytes,
    train_in: Any,
    labels: Sequence[str],
    label_set: Sequence[str],
    run: Run[Any],
    holdout: tuple[Any, Sequence[str]] | None,
    identity: dict[str, Any],
    extra: dict[str, Any],
    centroid_space: np.ndarray | None = None,
    calibration_probs: np.ndarray | None = None,
) -> Bundle:
    """Verify the export, measure train/holdout metrics from ONNX, calibrate the outlier
    score (centroids in `centroid_space` if given, else 1 - max prob on `calibration_probs`,
    ideally out-of-fold, falling back to in-sample probabilities) and build the manifest
    (`identity`: its input_kind and, for vectors, vector_dim)."""
    y = label_indices(labels, label_set, all_needed=True)
    drift = check_export(onnx_bytes, model, train_in)
    strings = kind == "tfidf-logreg"  # the only kind whose ONNX takes raw strings

    def serve(inputs: Any) -> np.ndarray:
        return onnx_probabilities(onnx_bytes, _as_array(inputs, strings))

    train_probs = serve(train_in)
    metrics, _ = served_metrics(label_set, y, train_probs, holdout, serve)
    role = "pipeline" if kind == "tfidf-logreg" else "head"
    files = {f"{role}.onnx": onnx_bytes}
    if centroid_space is not None:
        spec, files["centroids.npy"] = centroid_outlier(centroid_space, y, len(label_set))
    else:
        probs = train_probs if calibration_probs is None else calibration_probs
        spec = outlier.calibrate("max-prob", outlier.max_prob_distance(probs))
        spec["calibration"] = "in-sample" if calibration_probs is None else "out-of-fold"
    training = training_record(labels, run, drift, extra)
    return bundle_of(run, kind, label_set, files, training, metrics, spec, **identity)


def bundle_of(
    run: Run[Any],
    kind: ModelKind,
    label_set: Sequence[str],
    files: dict[str, bytes],
    training: dict[str, Any],
    metrics: dict[str, float],
    outlier_spec: dict[str, Any],
    **identity: Any,
) -> Bundle:
    """A trained model's `files` with their manifest: named by the training `run`, each file
    under its role (its name without the extension: head.onnx is the head), and `identity`
    (input_kind and, for vectors, vector_dim; for images, image_size)."""
    manifest = ModelManifest(
        name=run["name"],
        version=run["version"],
        dataset=run["dataset"],
        kind=kind,
        labels=list(label_set),
        files={name.split(".")[0]: name for name in files},
        training=training,
        metrics=metrics,
        outlier=outlier_spec,
        **identity,
    )
    return with_digests(manifest, files), files


def served_metrics(
    label_set: Sequence[str],
    y: np.ndarray,
    train_probs: np.ndarray,
    holdout: tuple[Any, Sequence[str]] | None,
    serve: Callable[[Any], np.ndarray],
) -> tuple[dict[str, float], tuple[np.ndarray, np.ndarray] | None]:
    """Metrics ("train_", and "holdout_" with a holdout) of what will be served: `train_probs`
    and `serve` applied to the holdout's inputs; with them the holdout's (probs, indices)."""
    metrics = classification_metrics(train_probs.argmax(axis=1), y, label_set, "train_")
    if holdout is None:
        return metrics, None
    hold_y = label_indices(holdout[1], label_set, all_needed=False)
    probs = serve(holdout[0])
    metrics |= classification_metrics(probs.argmax(axis=1), hold_y, label_set, "holdout_")
    return metrics, (probs, hold_y)


def centroid_outlier(
    space: np.ndarray, y: np.ndarray, classes: int
) -> tuple[dict[str, Any], bytes]:
    """The centroid-cosine outlier score calibrated on `space` (the training rows) and the
    class centroids it measures from, as centroids.npy bytes."""
    centroids = outlier.class_centroids(space, y, classes)
    spec = outlier.calibrate("centroid-cosine", outlier.centroid_distance(space, centroids))
    return spec, outlier.npy_bytes(centroids)


def training_record(
    labels: Sequence[str], run: Run[Any], drift: float, extra: dict[str, Any]
) -> dict[str, Any]:
    """The manifest's `training`: what every bundle records of its training, then `extra`."""
    return {
        "n_examples": len(labels),
        "class_counts": dict(sorted(Counter(labels).items())),
        "seed": run["seed"],
        "weighted": run.get("sample_weight") is not None,
        "sklearn": sklearn.__version__,
        "opset": TARGET_OPSET[""],
        "export_max_abs_diff": drift,
        **extra,
    }


def encoder_kind(encoder: MiniLMEncoder) -> ModelKind:
    """The kind of a MiniLM head trained on `encoder`'s embeddings."""
    return "minilm-int8-logreg" if encoder.quantization else "minilm-logreg"


def carry_encoder(bundle: Bundle, encoder: MiniLMEncoder) -> Bundle:
    """`bundle` (a head on MiniLM embeddings, its kind unchanged) with the encoder its head was
    trained on: recorded in the manifest (`encoder`: id, sha256, quantization;
    `training.encoder` and `training.encoder_sha256`) and, for a built int8 encoder, carried
    as file role "encoder" so the bundle serves without it."""
    manifest, files = bundle
    info = EncoderInfo(
        id=encoder.encoder_id, sha256=encoder.sha256, quantization=encoder.quantization or {}
    )
    roles, files = dict(manifest.files), dict(files)
    if encoder.quantization:
        roles["encoder"] = "encoder.onnx"
        files["encoder.onnx"] = encoder.model_bytes()
    training = manifest.training | {"encoder": encoder.encoder_id, "encoder_sha256": info.sha256}
    update = {"files": roles, "encoder": info, "training": training}
    manifest = ModelManifest.model_validate(manifest.model_dump() | update)
    return with_digests(manifest, files), files


def carry_built_encoder(bundle: Bundle, encoder: MiniLMEncoder) -> Bundle:
    """`bundle` (a hybrid kind) with `encoder` carried if it is a built int8 one
    (carry_encoder); on the shipped encoder the bundle stays as such bundles always were, run
    on the shared encoder (the manifest allows a hybrid the encoder file only with its
    quantization)."""
    return carry_encoder(bundle, encoder) if encoder.quantization else bundle


def with_encoder(bundle: Bundle, encoder: MiniLMEncoder) -> Bundle:
    """`bundle` (a MiniLM head, kind minilm-logreg) with the encoder its head was trained on
    (carry_encoder), of the kind that encoder makes it (encoder_kind)."""
    manifest, files = carry_encoder(bundle, encoder)
    kind = {"kind": encoder_kind(encoder)}
    return ModelManifest.model_validate(manifest.model_dump() | kind), files
