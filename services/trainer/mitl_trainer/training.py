"""Training a candidate and comparing it with the champion: CPU-bound and synchronous (callers
run it off the event loop); no database, no broker.

The candidate is a logistic-regression head of the kind `Rules.kind` names: on MiniLM
embeddings (mitl_ml.train_minilm_head) or on MiniLM embeddings stacked with TF-IDF word and char
n-grams and temperature-scaled (mitl_ml.train_hybrid_logreg); for an image dataset, on its
images' raw pixels (mitl_ml.train_pixels_classifier, kind pixels-logreg); for a single-label
vector dataset, on the vectors themselves (mitl_ml.train_vector_classifier, kind vector-onnx);
for a span dataset a
BIO tagger on MiniLM token states (mitl_ml.tagger, kind minilm-tagger) from the verified span
sets, compared with the champion on entity-level F1 rather than accuracy; trained with a
fixed seed on the training side of a TrainingSet; it and the champion are scored on the same
held-out items. Its manifest records what it was trained on and what it was compared with, and
takes its time from the newest label used, so that the same data and settings give a
byte-identical bundle, hence the same artifact digest and version.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from mitl_contracts.datasets import Dataset
from mitl_contracts.events import LABEL_SET_SEPARATOR
from mitl_contracts.spans import spans_of_key
from mitl_ml.artifacts import ArtifactStore
from mitl_ml.datasets import IMAGE_SIZES
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.manifest import ModelManifest, Pooling, read_manifest, write_bundle
from mitl_ml.metrics import evaluate
from mitl_ml.ovr import label_matrix, multilabel_metrics, train_vector_ovr
from mitl_ml.runtime import load_model
from mitl_ml.span_metrics import entity_metrics
from mitl_ml.tagger import train_tagger
from mitl_ml.text_ovr import train_text_ovr
from mitl_ml.train import (
    DEFAULT_IMAGE_SIZE,
    LEADING_POOLING,
    train_hybrid_logreg,
    train_minilm_head,
    train_pixels_classifier,
    train_vector_classifier,
)

from mitl_trainer.core.candidate_vs_champion import Verdict, decide
from mitl_trainer.core.span_sets import entity_counts, span_sets
from mitl_trainer.core.training_set import Example, TrainingSet
from mitl_trainer.settings import Settings

VERSION_DIGEST_CHARS = 12


@dataclass(frozen=True)
class Champion:
    """The model a candidate must beat: its version and where its bundle is."""

    version: str
    bundle_dir: Path
    artifact_sha256: str = ""


@dataclass(frozen=True)
class Candidate:
    manifest: ModelManifest
    files: dict[str, bytes]
    verdict: Verdict


def train_pixels(
    images: Sequence[bytes],
    labels: Sequence[str],
    label_set: Sequence[str],
    *,
    encoder: MiniLMEncoder | None = None,
    size: int | None = None,
    **run: Any,
) -> tuple[ModelManifest, dict[str, bytes]]:
    """A pixels head at `size`, else the dataset's image side (mitl_ml.datasets.IMAGE_SIZES),
    else the default; images need no encoder."""
    del encoder
    side = size or IMAGE_SIZES.get(run["dataset"], DEFAULT_IMAGE_SIZE)
    return train_pixels_classifier(images, labels, label_set, size=side, **run)


def image_size_of(champion: Champion | None) -> int | None:
    """The side the champion resizes images to (a candidate keeps it), None without one."""
    if champion is None:
        return None
    return read_manifest(champion.bundle_dir).image_size


def train_span_tagger(
    texts: Sequence[str],
    labels: Sequence[str],
    label_set: Sequence[str],
    *,
    encoder: MiniLMEncoder,
    holdout: tuple[Sequence[str], Sequence[str]] | None = None,
    **run: Any,
) -> tuple[ModelManifest, dict[str, bytes]]:
    """A minilm-tagger from span-set labels (their keys, as stored) on the shipped encoder
    (a quantized one is swapped for it: the tagger serves on the shipped one)."""
    if encoder.quantization:
        encoder = MiniLMEncoder(encoder.threads)
    hold = None
    if holdout is not None:
        hold = (holdout[0], [spans_of_key(key) for key in holdout[1]])
    spans = [spans_of_key(key) for key in labels]
    return train_tagger(texts, spans, label_set, encoder=encoder, holdout=hold, **run)


def train_ovr(
    vectors: np.ndarray,
    labels: Sequence[str],
    label_set: Sequence[str],
    *,
    encoder: MiniLMEncoder | None = None,
    **run: Any,
) -> tuple[ModelManifest, dict[str, bytes]]:
    """A one-vs-rest head from label-set keys (as stored); vectors need no encoder."""
    del encoder
    return train_vector_ovr(vectors, [label_set_of(key) for key in labels], label_set, **run)


def train_vectors(
    vectors: np.ndarray, labels: Sequence[str], label_set: Sequence[str], **run: Any
) -> tuple[ModelManifest, dict[str, bytes]]:
    """A standardised logistic-regression head on a single-label dataset's own vectors
    (kind vector-onnx); vectors need no encoder."""
    run.pop("encoder", None)
    return train_vector_classifier(vectors, labels, label_set, **run)


def train_text_one_vs_rest(
    texts: Sequence[str],
    labels: Sequence[str],
    label_set: Sequence[str],
    *,
    encoder: MiniLMEncoder,
    **run: Any,
) -> tuple[ModelManifest, dict[str, bytes]]:
    """A one-vs-rest head on MiniLM + TF-IDF features from label-set keys (as stored)."""
    return train_text_ovr(texts, [label_set_of(key) for key in labels], label_set,
                          encoder=encoder, **run)  # fmt: skip


def label_set_of(key: str) -> list[str]:
    """The labels of a multi-label event's `label` (mitl_contracts.events.label_set_key)."""
    return [label for label in key.split(LABEL_SET_SEPARATOR) if label]


def label_counts(examples: Sequence[Example]) -> dict[str, int]:
    """How many examples hold each label (multi-label)."""
    counts = Counter(label for e in examples for label in label_set_of(e.label))
    return dict(sorted(counts.items()))


# The candidate's trainer and the short name its versions carry, per model kind.
TRAINERS: dict[str, tuple[str, Any]] = {
    "minilm-logreg": ("minilm", train_minilm_head),
    "hybrid-logreg": ("hybrid", train_hybrid_logreg),
    "pixels-logreg": ("pixels", train_pixels),
    "minilm-tagger": ("tagger", train_span_tagger),
    "vector-onnx": ("vector", train_vectors),
    "vector-ovr-onnx": ("ovr", train_ovr),
    "hybrid-ovr-onnx": ("ovr", train_text_one_vs_rest),
}
DEFAULT_KIND = "hybrid-logreg"
IMAGE_KIND = "pixels-logreg"
SPAN_KIND = "minilm-tagger"
VECTOR_KIND = "vector-onnx"
MULTILABEL_KIND = "vector-ovr-onnx"
TEXT_MULTILABEL_KIND = "hybrid-ovr-onnx"
MULTILABEL_TRAINED = (MULTILABEL_KIND, TEXT_MULTILABEL_KIND)


def kind_for(dataset: Dataset, configured: str) -> str:
    """The model kind a dataset's candidates are: the configured text kind, the pixels kind
    for an image dataset, the vectors' own head for a vector dataset, the tagger for a span
    dataset, the one-vs-rest head for a multi-label dataset (on vectors, or on MiniLM +
    TF-IDF features of texts)."""
    if dataset.task == "spans":
        return SPAN_KIND
    if dataset.task == "multilabel":
        return TEXT_MULTILABEL_KIND if dataset.input_kind == "text" else MULTILABEL_KIND
    return {"image": IMAGE_KIND, "vector": VECTOR_KIND}.get(dataset.input_kind, configured)


def score_metric(kind: str) -> str:
    """The held-out metric candidate and champion are compared on: entity-level F1 for a
    span model, the share of label decisions right for a multi-label one, else accuracy."""
    if kind in MULTILABEL_TRAINED:
        return "label_decision_accuracy"
    return "entity_f1" if kind == SPAN_KIND else "accuracy"


def model_inputs(dataset: Dataset, stored: Sequence[str]) -> list[str] | list[bytes] | np.ndarray:
    """What a model of `dataset` takes, from what the trainer stores per item: the text, for
    an image dataset the image's bytes (stored base64, as the events carry them), for a
    vector dataset float32 [n, vector_dim] (stored as JSON lists)."""
    if dataset.input_kind == "image":
        return [base64.b64decode(value) for value in stored]
    if dataset.input_kind == "vector":
        rows = [json.loads(value) for value in stored]
        return np.array(rows, dtype=np.float32).reshape(len(rows), dataset.vector_dim or 0)
    return list(stored)


@dataclass(frozen=True)
class Rules:
    seed: int
    margin: float
    min_holdout: int
    kind: str = DEFAULT_KIND
    # What a hybrid head reads of the encoder (mitl_ml.manifest.POOLINGS).
    pooling: tuple[Pooling, ...] = ("mean",)

    @classmethod
    def of(cls, settings: Settings, kind: str, dataset: Dataset | None = None) -> Rules:
        """The trainer's settings' rules for candidates of `kind` (only a hybrid-logreg head
        reads the opening word: with MITL_HYBRID_LEADING, or for a dataset that declares
        `hybrid_leading`)."""
        declared = dataset is not None and dataset.hybrid_leading
        leading = (settings.hybrid_leading or declared) and kind == DEFAULT_KIND
        pooling = LEADING_POOLING if leading else ("mean",)
        return cls(settings.seed, settings.promotion_margin, settings.min_holdout, kind, pooling)


def version_for(
    dataset: str, digest: str, kind: str = DEFAULT_KIND, pooling: tuple[str, ...] = ("mean",)
) -> str:
    """A candidate's version: named after its kind (a hybrid head that reads the opening word
    `hybridlead`) and the data it was trained on."""
    short = TRAINERS[kind][0] + ("lead" if "leading" in pooling else "")
    return f"{dataset}-{short}-t{digest[:VERSION_DIGEST_CHARS]}"


def champion_metrics(
    champion: Champion | None,
    training: TrainingSet,
    encoder: MiniLMEncoder,
    dataset: Dataset | None = None,
) -> dict[str, float] | None:
    """The champion's holdout metrics (keys prefixed "holdout_"), None without a champion or
    held-out items. Raises ModelLoadError if its bundle cannot be loaded."""
    if champion is None or not training.holdout:
        return None
    model = load_model(champion.bundle_dir, encoder=encoder)
    texts = [e.text for e in training.holdout]
    if dataset is not None and dataset.task == "spans":
        found = model.predict(texts).spans
        if found is None:
            raise ValueError(f"champion {champion.version} is not a span model")
        return entity_metrics(span_sets(training.holdout), found, "holdout_")
    inputs = model_inputs(dataset, texts) if dataset is not None else texts
    if model.multilabel:
        truth = label_matrix([label_set_of(e.label) for e in training.holdout], model.labels)
        return multilabel_metrics(
            model.predict(inputs).probabilities, truth, model.labels, "holdout_"
        )
    scored = evaluate(model, inputs, [e.label for e in training.holdout])
    return {f"holdout_{name}": value for name, value in scored.items()}


def train_candidate(
    dataset: Dataset,
    training: TrainingSet,
    champion: Champion | None,
    rules: Rules,
    encoder: MiniLMEncoder,
    provenance: dict[str, Any],
) -> Candidate:
    """Train, evaluate against the champion and decide promotion. `provenance` (what asked
    for the model) goes into the manifest with what it was trained on."""
    digest = training.digest(rules.seed)
    kind = kind_for(dataset, rules.kind)
    version = version_for(dataset.name, digest, kind, rules.pooling)
    short, trainer = TRAINERS[kind]
    weights = np.array([e.weight for e in training.train]) if training.pseudo_train else None
    holdout = (
        (
            model_inputs(dataset, [e.text for e in training.holdout]),
            [e.label for e in training.holdout],
        )
        if training.holdout
        else None
    )
    # What only some kinds take: an image head's size, a hybrid-logreg head's pooling.
    options: dict[str, Any] = {"size": image_size_of(champion)} if kind == IMAGE_KIND else {}
    if kind == DEFAULT_KIND:
        options["pooling"] = rules.pooling
    manifest, files = trainer(
        model_inputs(dataset, [e.text for e in training.train]),
        [e.label for e in training.train],
        dataset.labels,
        seed=rules.seed,
        name=f"{dataset.name}-{short}",
        version=version,
        dataset=dataset.name,
        encoder=encoder,
        holdout=holdout,
        sample_weight=weights,
        **options,
    )
    beaten = champion_metrics(champion, training, encoder, dataset)
    metric = score_metric(kind)
    verdict = decide(
        manifest.metrics.get(f"holdout_{metric}", 0.0),
        beaten[f"holdout_{metric}"] if beaten else None,
        len(training.holdout),
        margin=rules.margin,
        min_holdout=rules.min_holdout,
        metric=metric,
    )
    record = {
        **provenance,
        "training_sha256": digest,
        "seed": rules.seed,
        "verified_train": len(training.human_train),
        "pseudo_train": len(training.pseudo_train),
        "pseudo_label_weight": training.pseudo_weight if training.pseudo_train else None,
        "holdout_items": len(training.holdout),
        "holdout_item_ids_sha256": _ids_digest(e.item_id for e in training.holdout),
        "train_item_ids_sha256": _ids_digest(e.item_id for e in training.train),
        "label_counts": class_counts(kind, training),
        "labels_until": training.labels_until.isoformat() if training.labels_until else None,
        "champion": (
            {"version": champion.version, "artifact_sha256": champion.artifact_sha256}
            | (beaten or {})
            if champion
            else None
        ),
        "promotion": {
            "promote": verdict.promote,
            "reason": verdict.reason,
            "margin": rules.margin,
            "min_holdout": rules.min_holdout,
            "metric": metric,
        },
    }
    metrics = dict(manifest.metrics)
    if beaten:
        metrics |= {f"champion_{name}": value for name, value in beaten.items()}
    update: dict[str, Any] = {
        "training": manifest.training | {"trainer": record},
        "metrics": metrics,
    }
    if training.labels_until is not None:
        update["created_at"] = training.labels_until
    return Candidate(manifest.model_copy(update=update), files, verdict)


def class_counts(kind: str, training: TrainingSet) -> dict[str, int]:
    """Training examples per class: entities per label for a span model, items per label for
    a multi-label one, items per label otherwise."""
    if kind == SPAN_KIND:
        return entity_counts(training.train)
    if kind in MULTILABEL_TRAINED:
        return label_counts(training.train)
    return training.class_counts


def _ids_digest(ids: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()


def store_candidate(
    candidate: Candidate, artifacts: ArtifactStore, encoder: MiniLMEncoder
) -> tuple[str, Path]:
    """Write the candidate's bundle into the artifact store; (digest, directory). The stored
    bundle is loaded once, as inference will load it, before anyone is told about it."""
    artifacts.root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".candidate-", dir=artifacts.root))
    try:
        write_bundle(staging, candidate.manifest, candidate.files)
        digest = artifacts.put(staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    path = artifacts.open(digest)
    load_model(path, encoder=encoder)
    return digest, path
