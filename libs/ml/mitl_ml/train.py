"""Train classifiers and package them as bundle contents: (ModelManifest, {file: bytes}).

All trainers are deterministic for a given seed (lbfgs logistic regression, no shuffling),
refuse label sets with an unrepresented class (its probability column would be missing from
the ONNX output), verify the ONNX export against scikit-learn, and report holdout metrics
computed from the exported ONNX itself - the exact artefact that will be served.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Unpack

import numpy as np
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from mitl_ml.calibrate import chosen_temperature, expected_calibration_error
from mitl_ml.encoder import Encoded, MiniLMEncoder
from mitl_ml.export import (
    EXPORT_TOLERANCE,
    ExportError,
    onnx_features,
    onnx_probabilities,
    to_onnx_float,
    to_onnx_text,
    to_onnx_tfidf_features,
)
from mitl_ml.hybrid import CHAR_NGRAMS, WORD_NGRAMS, HybridFeaturizer, head_dense
from mitl_ml.images import pixel_matrix
from mitl_ml.manifest import ModelKind, Pooling
from mitl_ml.metrics import evaluate
from mitl_ml.packaging import (
    Bundle,
    Run,
    bundle_of,
    carry_built_encoder,
    centroid_outlier,
    label_indices,
    package_classifier,
    served_metrics,
    training_record,
    with_encoder,
)
from mitl_ml.quantize import default_encoder

__all__ = [
    "evaluate",
    "tfidf_pipeline",
    "train_hybrid_logreg",
    "train_minilm_head",
    "train_pixels_classifier",
    "train_tfidf_logreg",
    "train_vector_classifier",
]

# Regularisation: unit-norm MiniLM embeddings have tiny per-feature scale, so C=1 underfits;
# on TREC-6 with 100-500 labels C in 4..10 is best and 3-fold CV picked no better (noisy).
MINILM_C = 4.0
TFIDF_C = 10.0
VECTOR_C = 0.5
PIXELS_C = 0.5
# The square images are resized to when a pixels model is not told (digits are 8x8).
DEFAULT_IMAGE_SIZE = 16
# The hybrid head sees three unit-norm blocks; the simulator's C (sim/head.py) suits it.
HYBRID_C = 16.0
# What a hybrid head reads of the encoder with its opening word (MITL_HYBRID_LEADING): the
# sentence embedding, then the leading wordpiece's state.
LEADING_POOLING: tuple[Pooling, ...] = ("mean", "leading")
MAX_ITER = 2000
# Out-of-fold folds for the hybrid head's temperature; rows the ONNX export is checked on.
CALIBRATION_FOLDS = 3
_CHECK_ROWS = 500


def _logreg(c: float, seed: int) -> LogisticRegression:
    # lbfgs fits the multinomial (softmax) model for k > 2 classes in scikit-learn >= 1.5.
    return LogisticRegression(C=c, max_iter=MAX_ITER, solver="lbfgs", random_state=seed)


def tfidf_pipeline(seed: int, c: float = TFIDF_C) -> Pipeline:
    """The unfitted TF-IDF (word 1-2 grams, no sublinear_tf: it does not convert to ONNX
    faithfully) + logistic-regression pipeline that train_tfidf_logreg fits."""
    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), _logreg(c, seed))


def train_minilm_head(
    texts: Sequence[str],
    labels: Sequence[str],
    label_set: Sequence[str],
    *,
    encoder: MiniLMEncoder | None = None,
    c: float = MINILM_C,
    **run: Unpack[Run[Sequence[str]]],
) -> Bundle:
    """Logistic-regression head on MiniLM embeddings -> kind "minilm-logreg" bundle contents
    (the shipped encoder), or "minilm-int8-logreg" for a built int8 encoder
    (mitl_ml.quantize; the default encoder when it holds accuracy).

    Files: head.onnx (float [n, 384] -> probabilities [n, k], columns in label_set order),
    centroids.npy (per-class embedding centroids for the outlier score) and, for int8,
    encoder.onnx (the encoder the head was trained on; see packaging.with_encoder).
    """
    y = label_indices(labels, label_set, all_needed=True)
    encoder = encoder or default_encoder()
    encoded = encoder.encode(list(texts))
    x = encoded.embeddings
    head = _logreg(c, run["seed"]).fit(x, y, sample_weight=run.get("sample_weight"))
    hold = None
    if (holdout := run.get("holdout")) is not None:
        hold = (encoder.encode(list(holdout[0])).embeddings, holdout[1])
    bundle = package_classifier(
        kind="minilm-logreg",  # with_encoder makes it minilm-int8-logreg for an int8 encoder
        model=head,
        onnx_bytes=to_onnx_float(head, x.shape[1]),
        train_in=x,
        labels=labels,
        label_set=label_set,
        run=run,
        holdout=hold,
        identity={"input_kind": "text"},
        extra={"C": c, "encoder": encoder.encoder_id, "n_truncated": int(sum(encoded.truncated))},
        centroid_space=x,
    )
    return with_encoder(bundle, encoder)


def train_tfidf_logreg(
    texts: Sequence[str],
    labels: Sequence[str],
    label_set: Sequence[str],
    *,
    c: float = TFIDF_C,
    **run: Unpack[Run[Sequence[str]]],
) -> Bundle:
    """TF-IDF (word 1-2 grams) + logistic regression as one ONNX pipeline with string input
    -> kind "tfidf-logreg" bundle contents (pipeline.onnx). Outlier: calibrated 1 - max prob
    (an uncertainty proxy; TF-IDF has no embedding space worth measuring distances in).
    """
    y = label_indices(labels, label_set, all_needed=True)
    seed = run["seed"]
    pipeline = tfidf_pipeline(seed, c)
    fit_params = {"logisticregression__sample_weight": run.get("sample_weight")}
    pipeline.fit(list(texts), y, **fit_params)
    # TF-IDF + LR is near-certain on its own training texts, so an in-sample p95 of
    # (1 - max prob) would be ~0 and flag every new text; calibrate on out-of-fold instead.
    folds = min(5, int(np.bincount(y).min()))
    oof = None
    if folds >= 2:
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        oof = cross_val_predict(
            clone(pipeline), list(texts), y, cv=cv, method="predict_proba", params=fit_params
        )
    return package_classifier(
        kind="tfidf-logreg",
        model=pipeline,
        onnx_bytes=to_onnx_text(pipeline),
        train_in=list(texts),
        labels=labels,
        label_set=label_set,
        run=run,
        holdout=run.get("holdout"),
        identity={"input_kind": "text"},
        extra={"C": c, "ngram_range": [1, 2]},
        calibration_probs=oof,
    )


def train_vector_classifier(
    vectors: np.ndarray,
    labels: Sequence[str],
    label_set: Sequence[str],
    *,
    c: float = VECTOR_C,
    **run: Unpack[Run[np.ndarray]],
) -> Bundle:
    """Standardise + logistic regression over float vectors -> kind "vector-onnx" contents.

    Files: head.onnx (float [n, d] -> probabilities) and centroids.npy (class centroids in
    the raw input space, for the cosine outlier score).
    """
    y = label_indices(labels, label_set, all_needed=True)
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        raise ValueError("vectors must be a finite 2-D array")
    identity = {"input_kind": "vector", "vector_dim": int(x.shape[1])}
    return _scaled_logreg("vector-onnx", x, y, labels, label_set, run, c, run.get("holdout"),
                          identity, {})  # fmt: skip


def _scaled_logreg(
    kind: ModelKind,
    x: np.ndarray,
    y: np.ndarray,
    labels: Sequence[str],
    label_set: Sequence[str],
    run: Run[Any],
    c: float,
    holdout: tuple[Any, Sequence[str]] | None,
    identity: dict[str, Any],
    extra: dict[str, Any],
) -> Bundle:
    """Standardised features -> logistic regression, exported as one float ONNX graph and
    packaged (outlier centroids in the standardised input space)."""
    model = make_pipeline(StandardScaler(), _logreg(c, run["seed"]))
    model.fit(x, y, logisticregression__sample_weight=run.get("sample_weight"))
    return package_classifier(
        kind=kind,
        model=model,
        onnx_bytes=to_onnx_float(model, x.shape[1]),
        train_in=x,
        labels=labels,
        label_set=label_set,
        run=run,
        holdout=holdout,
        identity=identity,
        extra={"C": c, "scaler": "standard"} | extra,
        centroid_space=x,
    )


def train_hybrid_logreg(
    texts: Sequence[str],
    labels: Sequence[str],
    label_set: Sequence[str],
    *,
    encoder: MiniLMEncoder | None = None,
    c: float = HYBRID_C,
    pooling: tuple[Pooling, ...] = ("mean",),
    **run: Unpack[Run[Sequence[str]]],
) -> Bundle:
    """MiniLM embeddings (+ the leading wordpiece's state, with `pooling` mean, leading) +
    TF-IDF word 1-2-grams + char 2-4-grams -> a temperature-scaled logistic-regression head ->
    kind "hybrid-logreg" bundle contents. Embeds with `encoder`, else the default encoder
    (mitl_ml.quantize: the int8 one when it holds accuracy).

    Files: features.onnx (strings [n, 1] -> the TF-IDF blocks, float [n, w]), head.onnx
    (float [n, 384 (+ 384) + w], the embedding (and the leading state) first ->
    probabilities [n, k]), centroids.npy
    (per-class embedding centroids for the outlier score) and, on a built int8 encoder,
    encoder.onnx with the manifest's `encoder` (packaging.carry_built_encoder), as for
    minilm-int8-logreg. The temperature is fitted on out-of-fold predictions and folded into
    the head (mitl_ml.calibrate); the manifest records it with the ECE before and after, and
    the holdout ECE of the served files.
    """
    y = label_indices(labels, label_set, all_needed=True)
    corpus = list(texts)
    encoder = encoder or default_encoder()
    encoded = encoder.encode(corpus)
    featurizer = HybridFeaturizer(corpus)
    leads = "leading" in pooling

    def leading_of(encoded_in: Encoded) -> np.ndarray | None:
        return encoded_in.dense()[1] if leads else None

    x = featurizer.transform(corpus, encoded.embeddings, leading_of(encoded))
    seed, sample_weight = run["seed"], run.get("sample_weight")
    head = _logreg(c, seed).fit(x, y, sample_weight=sample_weight)
    temperature, ece_before, ece_after = 1.0, float("nan"), float("nan")
    folds = min(CALIBRATION_FOLDS, int(np.bincount(y).min()))
    if folds >= 2:
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        oof = cross_val_predict(
            _logreg(c, seed), x, y, cv=cv, method="predict_proba",
            params={"sample_weight": sample_weight},
        )  # fmt: skip
        temperature, ece_before, ece_after = chosen_temperature(oof, y)
    head.coef_ = head.coef_ / temperature
    head.intercept_ = head.intercept_ / temperature
    features_onnx = to_onnx_tfidf_features([featurizer.word, featurizer.char])
    head_onnx = to_onnx_float(head, x.shape[1])

    def served(texts_in: Sequence[str], encoded_in: Encoded, rows: slice = slice(None)) -> Any:
        tfidf = onnx_features(features_onnx, texts_in)
        leading = leading_of(encoded_in)
        dense = head_dense(encoded_in.embeddings[rows], None if leading is None else leading[rows])
        return onnx_probabilities(head_onnx, np.hstack([*dense, tfidf]))

    check = slice(0, _CHECK_ROWS)
    drift = float(np.abs(served(corpus[check], encoded, check)
                         - head.predict_proba(x[check])).max())  # fmt: skip
    if not drift <= EXPORT_TOLERANCE:
        raise ExportError(f"ONNX export differs from scikit-learn by {drift:.2e}")
    metrics, held = served_metrics(
        label_set,
        y,
        head.predict_proba(x),
        run.get("holdout"),
        lambda texts_in: served(list(texts_in), encoder.encode(list(texts_in))),
    )
    if held is not None and len(held[1]):
        metrics["holdout_ece"] = expected_calibration_error(*held)
    spec, centroids = centroid_outlier(encoded.embeddings, y, len(label_set))
    files = {"features.onnx": features_onnx, "head.onnx": head_onnx, "centroids.npy": centroids}
    extra = {
        "C": c,
        "encoder": encoder.encoder_id,
        "n_truncated": int(sum(encoded.truncated)),
        "word_ngrams": list(WORD_NGRAMS),
        "char_ngrams": list(CHAR_NGRAMS),
        "tfidf_width": featurizer.width,
        "pooling": list(pooling),
        "temperature": temperature,
        "oof_ece_before": ece_before,
        "oof_ece_after": ece_after,
    }
    training = training_record(labels, run, drift, extra)
    bundle = bundle_of(
        run, "hybrid-logreg", label_set, files, training, metrics, spec, input_kind="text",
        pooling=tuple(pooling),
    )  # fmt: skip
    return carry_built_encoder(bundle, encoder)


def train_pixels_classifier(
    images: Sequence[bytes],
    labels: Sequence[str],
    label_set: Sequence[str],
    *,
    size: int = DEFAULT_IMAGE_SIZE,
    c: float = PIXELS_C,
    **run: Unpack[Run[Sequence[bytes]]],
) -> Bundle:
    """Standardise + logistic regression over raw pixels -> kind "pixels-logreg" contents.

    Each image (PNG or JPEG bytes) is turned into grayscale, resized to size x size, flattened
    and scaled to [0, 1] (mitl_ml.images.pixels), the same at serving time. Files: head.onnx
    (float [n, size * size] -> probabilities) and centroids.npy (class centroids in pixel
    space, for the cosine outlier score).
    """
    y = label_indices(labels, label_set, all_needed=True)
    x = pixel_matrix(list(images), size)
    hold = None
    if (holdout := run.get("holdout")) is not None:
        hold = (pixel_matrix(list(holdout[0]), size), holdout[1])
    identity = {"input_kind": "image", "image_size": size}
    pixels = {"pixels": "grayscale, box-resized, / 255"}
    return _scaled_logreg("pixels-logreg", x, y, labels, label_set, run, c, hold, identity, pixels)
