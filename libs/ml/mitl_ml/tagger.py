"""The project's own entity tagger (kind "minilm-tagger"): a token-classification head on the
MiniLM encoder's token outputs, trained from verified span sets.

Features: the shipped encoder's graph already outputs `last_hidden_state` per wordpiece
(mitl_ml.encoder.MiniLMEncoder.encode_tokens), so no other graph is built. Each word (mitl_ml.bio)
is represented by its first wordpiece's state next to the previous word's (zeros for the first
word): 768 floats; the previous word's state helps tell B- from I-.
Head: standardised multinomial logistic regression over the BIO tags (mitl_ml.bio.tag_set),
exported by hand to ONNX (float "input" [n, 768] -> Sub mean, Div scale, MatMul, Add, Softmax
-> float "probabilities" [n, tags]) and checked against scikit-learn. A tag no training word
has gets probability 0.
Calibration: a first head is fitted on 80 % of the training texts and a temperature on the
other 20 % (maximum likelihood of their word tags); it is kept when it lowers the ECE of the
span confidences there, and folded into the final head (fitted on all training texts) by
dividing its coefficients and intercepts, so the served graph gives calibrated tags.
Measured on WNUT-16 by `python -m mitl_ml.tagger --evaluate wnut16 --json` (docs/models.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sklearn
from mitl_contracts.spans import Span
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from mitl_ml.bio import Decoded, Word, decode, tag_set, word_tags, words_of
from mitl_ml.calibrate import fit_temperature
from mitl_ml.encoder import EMBEDDING_DIM, ENCODER_ID, MiniLMEncoder, TokenStates
from mitl_ml.export import (
    EXPORT_TOLERANCE,
    TARGET_OPSET,
    ExportError,
    linear_head_onnx,
    onnx_probabilities,
)
from mitl_ml.manifest import ModelManifest, with_digests
from mitl_ml.packaging import Bundle
from mitl_ml.span_metrics import binary_calibration_error, entity_metrics, span_correctness

TAGGER_KIND = "minilm-tagger"
FEATURE_DIM = 2 * EMBEDDING_DIM
FEATURES = "first-wordpiece+previous-word"
# Regularisation, on standardised features: on a WNUT-16 80/20 split C=0.05 gave entity F1
# 0.38 against 0.35 at C=0.3 (more, less sure spans), and the previous word's state 0.38
# against 0.32 without it.
TAGGER_C = 0.05
MAX_ITER = 300
CALIBRATION_SHARE = 0.2
# Fewer training texts than this: no calibration split (too few spans to measure ECE on).
MIN_CALIBRATION_TEXTS = 50
# Logit of a tag no training word has (softmax gives it ~0 probability).
ABSENT_LOGIT = -1.0e4
_CHECK_ROWS = 500


@dataclass(frozen=True)
class Tokens:
    """Per text: its words and their features [len(words), FEATURE_DIM]; `truncated[i]` if
    text i was cut to the encoder's limit (its later words are not tagged)."""

    words: list[list[Word]]
    features: list[np.ndarray]
    truncated: list[bool]


def word_features(states: np.ndarray, words: Sequence[Word]) -> np.ndarray:
    """[len(words), FEATURE_DIM]: each word's first-wordpiece state, then the previous
    word's (zeros for the first word)."""
    if not words:
        return np.zeros((0, FEATURE_DIM), dtype=np.float32)
    first = states[[w.first for w in words]].astype(np.float32)
    previous = np.vstack([np.zeros((1, EMBEDDING_DIM), np.float32), first[:-1]])
    return np.hstack([first, previous])


def tokens_of(token_states: TokenStates) -> Tokens:
    words = [
        words_of(o, w) for o, w in zip(token_states.offsets, token_states.word_ids, strict=True)
    ]
    features = [word_features(s, w) for s, w in zip(token_states.states, words, strict=True)]
    return Tokens(words, features, list(token_states.truncated))


def encode(encoder: MiniLMEncoder, texts: Sequence[str]) -> Tokens:
    """The words and word features of `texts` under `encoder`."""
    return tokens_of(encoder.encode_tokens(list(texts)))


def head_onnx(
    mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, intercept: np.ndarray
) -> bytes:
    """The ONNX graph of a standardised softmax head (coef [tags, d], intercept [tags])."""
    return linear_head_onnx(mean, scale, coef, intercept, "Softmax", "mitl_tagger_head")


@dataclass(frozen=True)
class Head:
    """A fitted tag head: scaler, coefficients [tags, d] and intercepts [tags] over all tags
    (absent ones at ABSENT_LOGIT), divided by `temperature`."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    temperature: float = 1.0

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """The tags' probabilities [n, tags] (numpy; the ONNX graph computes the same)."""
        logits = ((x - self.mean) / self.scale) @ self.coef.T + self.intercept
        logits = logits / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def at(self, temperature: float) -> Head:
        return Head(self.mean, self.scale, self.coef, self.intercept, temperature)

    def onnx(self) -> bytes:
        return head_onnx(
            self.mean, self.scale, self.coef / self.temperature, self.intercept / self.temperature
        )


def fit_head(
    x: np.ndarray, y: np.ndarray, n_tags: int, *, c: float, seed: int, weight: np.ndarray | None
) -> Head:
    """Standardise, fit a multinomial logistic regression of tag indices `y` (at least two
    distinct), and spread its columns over all `n_tags` tags."""
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=c, max_iter=MAX_ITER, solver="lbfgs", random_state=seed)
    model.fit(scaler.transform(x), y, sample_weight=weight)
    coef = np.zeros((n_tags, x.shape[1]))
    intercept = np.full(n_tags, ABSENT_LOGIT)
    classes = model.classes_.astype(int)
    if len(classes) == 2:  # scikit-learn keeps one row for two classes: logits -z/2, z/2
        coef[classes] = np.vstack([-model.coef_[0] / 2, model.coef_[0] / 2])
        intercept[classes] = [-model.intercept_[0] / 2, model.intercept_[0] / 2]
    else:
        coef[classes], intercept[classes] = model.coef_, model.intercept_
    return Head(scaler.mean_, scaler.scale_, coef, intercept)


def tag_items(tokens: Tokens, probabilities: Any, tags: Sequence[str]) -> list[Decoded]:
    """Decode each text's spans from `probabilities(features)` over all its words at once.
    A truncated text's completeness is 0: its cut-off words were never looked at."""
    lengths = [len(w) for w in tokens.words]
    stacked = np.vstack(tokens.features) if tokens.features else np.zeros((0, FEATURE_DIM))
    probs = probabilities(stacked) if len(stacked) else np.zeros((0, len(tags)))
    decoded: list[Decoded] = []
    start = 0
    for words, length, cut in zip(tokens.words, lengths, tokens.truncated, strict=True):
        found = decode(words, probs[start : start + length], tags)
        decoded.append(Decoded(found.spans, 0.0) if cut else found)
        start += length
    return decoded


def _training_matrix(
    tokens: Tokens,
    span_sets: Sequence[Sequence[Span]],
    rows: Sequence[int],
    tags: Sequence[str],
    weights: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    index = {tag: j for j, tag in enumerate(tags)}
    xs, ys, ws = [], [], []
    for i in rows:
        words = tokens.words[i]
        xs.append(tokens.features[i])
        ys += [index[t] for t in word_tags(words, span_sets[i])]
        if weights is not None:
            ws += [float(weights[i])] * len(words)
    x = np.vstack(xs) if xs else np.zeros((0, FEATURE_DIM), np.float32)
    return x, np.array(ys, dtype=np.int64), (np.array(ws) if weights is not None else None)


def _check_spans(span_sets: Sequence[Sequence[Span]], label_set: Sequence[str]) -> None:
    known = set(label_set)
    for i, spans in enumerate(span_sets):
        unknown = sorted({s.label for s in spans} - known)
        if unknown:
            raise ValueError(f"span set {i} has labels {unknown} not in label_set")


def calibrate_head(
    tokens: Tokens,
    span_sets: Sequence[Sequence[Span]],
    tags: Sequence[str],
    *,
    c: float,
    seed: int,
    weights: np.ndarray | None,
) -> dict[str, Any]:
    """The temperature for the head (see the module docstring), with the span ECE on the
    calibration texts before and after; temperature 1.0 without a calibration split."""
    n = len(span_sets)
    if n < MIN_CALIBRATION_TEXTS:
        return {
            "temperature": 1.0,
            "calibration": f"none: fewer than {MIN_CALIBRATION_TEXTS} texts",
        }
    order = np.random.default_rng(seed).permutation(n)
    held = sorted(order[: max(1, int(n * CALIBRATION_SHARE))].tolist())
    fit_rows = sorted(order[len(held) :].tolist())
    x, y, w = _training_matrix(tokens, span_sets, fit_rows, tags, weights)
    if len(np.unique(y)) < 2:
        return {"temperature": 1.0, "calibration": "none: one tag only"}
    head = fit_head(x, y, len(tags), c=c, seed=seed, weight=w)
    held_x, held_y, _ = _training_matrix(tokens, span_sets, held, tags, None)
    temperature = fit_temperature(head.probabilities(held_x), held_y)
    sub = Tokens(
        [tokens.words[i] for i in held],
        [tokens.features[i] for i in held],
        [tokens.truncated[i] for i in held],
    )
    gold = [span_sets[i] for i in held]

    def ece(t: float) -> float:
        decoded = tag_items(sub, head.at(t).probabilities, tags)
        return binary_calibration_error(*span_correctness(gold, [d.spans for d in decoded])[:2])

    before, after = ece(1.0), ece(temperature)
    kept = after < before
    return {
        "temperature": temperature if kept else 1.0,
        "calibration": f"{len(held)} held-out training texts",
        "fitted_temperature": temperature,
        "calibration_ece_before": before,
        "calibration_ece_after": after if kept else before,
    }


def train_tagger(
    texts: Sequence[str],
    span_sets: Sequence[Sequence[Span]],
    label_set: Sequence[str],
    *,
    encoder: MiniLMEncoder | None = None,
    c: float = TAGGER_C,
    seed: int,
    name: str,
    version: str,
    dataset: str,
    holdout: tuple[Sequence[str], Sequence[Sequence[Span]]] | None = None,
    sample_weight: np.ndarray | None = None,
    tokens: Tokens | None = None,
) -> Bundle:
    """A BIO tagger of `label_set`'s entities from `texts` and their full span sets -> kind
    "minilm-tagger" bundle contents (file head.onnx: float [n, 768] word features -> tag
    probabilities [n, 2 * labels + 1], tags in mitl_ml.bio.tag_set order). Metrics (train_,
    holdout_ with `holdout`) are entity-level, from the exported graph. `tokens` (encode of
    `texts`) saves encoding again. Raises ValueError for a span label outside `label_set`,
    texts and span sets of different lengths, a quantized encoder (the tagger serves on the
    shipped one) or training data with a single tag."""
    if len(texts) != len(span_sets):
        raise ValueError(f"{len(texts)} texts but {len(span_sets)} span sets")
    _check_spans(span_sets, label_set)
    encoder = encoder or MiniLMEncoder()
    if encoder.quantization:
        raise ValueError("the tagger is trained on the shipped MiniLM encoder, not a quantized one")
    tags = tag_set(label_set)
    tokens = tokens or encode(encoder, texts)
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    x, y, w = _training_matrix(tokens, span_sets, range(len(texts)), tags, weights)
    if len(np.unique(y)) < 2:
        raise ValueError(
            "the training words carry a single tag; the tagger needs entities and non-entities"
        )
    calibration = calibrate_head(tokens, span_sets, tags, c=c, seed=seed, weights=weights)
    head = fit_head(x, y, len(tags), c=c, seed=seed, weight=w).at(calibration["temperature"])
    onnx_bytes = head.onnx()
    sample = x[:_CHECK_ROWS]
    drift = float(np.abs(onnx_probabilities(onnx_bytes, sample) - head.probabilities(sample)).max())
    if not drift <= EXPORT_TOLERANCE:
        raise ExportError(f"ONNX tagger head differs from the fitted head by {drift:.2e}")

    def served(x_in: np.ndarray) -> np.ndarray:
        return onnx_probabilities(onnx_bytes, x_in)

    predicted = [d.spans for d in tag_items(tokens, served, tags)]
    metrics = entity_metrics(span_sets, predicted, "train_")
    if holdout is not None:
        hold_tokens = encode(encoder, holdout[0])
        hold_pred = [d.spans for d in tag_items(hold_tokens, served, tags)]
        metrics |= entity_metrics(holdout[1], hold_pred, "holdout_")
    entity_counts = Counter(s.label for spans in span_sets for s in spans)
    training = {
        "n_examples": len(texts),
        "n_words": len(y),
        "entity_counts": dict(sorted(entity_counts.items())),
        "tag_counts": {tags[j]: int(n) for j, n in sorted(Counter(y.tolist()).items())},
        "tags": list(tags),
        "features": FEATURES,
        "C": c,
        "seed": seed,
        "weighted": sample_weight is not None,
        "sklearn": sklearn.__version__,
        "opset": TARGET_OPSET[""],
        "export_max_abs_diff": drift,
        "n_truncated": int(sum(tokens.truncated)),
        "encoder": ENCODER_ID,
        "encoder_sha256": encoder.sha256,
        "task": "spans",
        **calibration,
    }
    manifest = ModelManifest(
        name=name,
        version=version,
        dataset=dataset,
        kind=TAGGER_KIND,
        labels=list(label_set),
        input_kind="text",
        files={"head": "head.onnx"},
        training=training,
        metrics={k: float(v) for k, v in metrics.items()},
    )
    files = {"head.onnx": onnx_bytes}
    return with_digests(manifest, files), files


def split_indices(n: int, seed: int, share: float) -> tuple[list[int], list[int]]:
    """(train, held-out) item indices: a seeded random `share` held out."""
    order = np.random.default_rng(seed).permutation(n)
    cut = round(n * share)
    return sorted(order[cut:].tolist()), sorted(order[:cut].tolist())


def evaluate_dataset(name: str, *, seed: int = 0, share: float = 0.2) -> dict[str, Any]:
    """Train on a seeded (1 - share) of a span dataset (mitl_ml.span_data) and measure the
    served tagger on the rest: entity-level figures, the confident share and precision, and
    the ECE of span confidences (and what the temperature did to it)."""
    from mitl_ml.span_data import load_spans

    data = load_spans(name)
    encoder = MiniLMEncoder()
    started = time.perf_counter()
    tokens = encode(encoder, data.texts)
    encode_s = time.perf_counter() - started
    train, test = split_indices(len(data), seed, share)

    def subset(rows: list[int]) -> Tokens:
        return Tokens(
            [tokens.words[i] for i in rows],
            [tokens.features[i] for i in rows],
            [tokens.truncated[i] for i in rows],
        )

    started = time.perf_counter()
    manifest, files = train_tagger(
        [data.texts[i] for i in train],
        [data.spans[i] for i in train],
        data.labels,
        encoder=encoder,
        seed=seed,
        name=f"{name}-tagger",
        version="evaluate",
        dataset=name,
        tokens=subset(train),
    )
    train_s = time.perf_counter() - started
    tags = manifest.training["tags"]
    head = files["head.onnx"]
    test_tokens = subset(test)
    gold = [data.spans[i] for i in test]

    def served(x_in: np.ndarray) -> np.ndarray:
        return onnx_probabilities(head, x_in)

    predicted = [d.spans for d in tag_items(test_tokens, served, tags)]
    figures = entity_metrics(gold, predicted)
    return {
        "dataset": name,
        "kind": TAGGER_KIND,
        "split": f"seeded {1 - share:.0%}/{share:.0%} (seed {seed})",
        "train_texts": len(train),
        "test_texts": len(test),
        **{k: round(v, 4) for k, v in figures.items()},
        "temperature": round(float(manifest.training["temperature"]), 4),
        "calibration_ece_before": round(
            float(manifest.training.get("calibration_ece_before", 0)), 4
        ),
        "calibration_ece_after": round(float(manifest.training.get("calibration_ece_after", 0)), 4),
        "encode_seconds": round(encode_s, 1),
        "train_seconds": round(train_s, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mitl_ml.tagger", description=__doc__)
    parser.add_argument("--evaluate", required=True, help="span dataset (mitl_ml.span_data)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        figures = evaluate_dataset(args.evaluate, seed=args.seed)
    except ValueError as error:
        sys.exit(f"error: {error}")
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>24}  {value}")


if __name__ == "__main__":
    main()
