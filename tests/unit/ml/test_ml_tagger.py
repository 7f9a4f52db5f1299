"""The minilm-tagger: training from span sets, the ONNX head against the fitted model, serving
through load_model (spans, confidences, completeness), and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mitl_contracts.spans import Span
from mitl_ml.encoder import MAX_TOKENS, MiniLMEncoder
from mitl_ml.errors import InvalidInput, ModelLoadError
from mitl_ml.export import onnx_probabilities
from mitl_ml.manifest import MANIFEST_FILE, ModelManifest, write_bundle
from mitl_ml.runtime import load_model
from mitl_ml.tagger import FEATURE_DIM, encode, fit_head, train_tagger
from mitl_ml.tagger_model import TaggerModel
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

LABELS = ["person", "city"]
PEOPLE = ["Alice Smith", "Bob", "Carlos Diaz", "Dana", "Emma Stone", "Farid"]
CITIES = ["Paris", "New York", "Berlin", "Tokyo", "San Francisco", "Lagos"]
TEMPLATES = [
    "yesterday {p} flew to {c} for work",
    "{p} loves living in {c} a lot",
    "we saw {p} at the airport in {c}",
    "the weather in {c} was great said {p}",
]


def corpus(n: int, offset: int = 0) -> tuple[list[str], list[list[Span]]]:
    texts, span_sets = [], []
    for k in range(offset, offset + n):
        person, city = PEOPLE[k % len(PEOPLE)], CITIES[(k // 2) % len(CITIES)]
        template = TEMPLATES[k % len(TEMPLATES)]
        text = template.format(p=person, c=city)
        spans = [
            Span(start=text.index(person), end=text.index(person) + len(person), label="person"),
            Span(start=text.index(city), end=text.index(city) + len(city), label="city"),
        ]
        texts.append(text)
        span_sets.append(spans)
    return texts, span_sets


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, encoder: MiniLMEncoder) -> Path:
    texts, spans = corpus(72)
    manifest, files = train_tagger(
        texts,
        spans,
        LABELS,
        encoder=encoder,
        seed=0,
        name="toy-tagger",
        version="v1",
        dataset="toy",
        holdout=corpus(12, offset=100),
    )
    out = tmp_path_factory.mktemp("tagger") / "bundle"
    write_bundle(out, manifest, files)
    return out


def test_token_states_are_per_wordpiece_with_offsets(encoder: MiniLMEncoder) -> None:
    states = encoder.encode_tokens(["Tokyo rocks!", ""])
    assert states.states[0].shape == (len(states.offsets[0]), 384)
    assert tuple(states.offsets[0][0]) == (0, 5)
    assert states.word_ids[0][-1] == 2  # "!" is a word of its own
    assert states.states[1].shape == (0, 384) and states.truncated == [False, False]
    assert encoder.encode_tokens([]).states == []
    with pytest.raises(TypeError):
        encoder.encode_tokens([3])  # type: ignore[list-item]


def test_the_trained_tagger_finds_the_entities_it_was_taught(bundle: Path) -> None:
    manifest = ModelManifest.model_validate_json((bundle / MANIFEST_FILE).read_bytes())
    assert manifest.kind == "minilm-tagger" and manifest.labels == LABELS
    assert manifest.training["tags"] == ["O", "B-person", "I-person", "B-city", "I-city"]
    assert manifest.metrics["holdout_entity_f1"] >= 0.8
    assert manifest.training["export_max_abs_diff"] <= 1e-4
    assert manifest.training["temperature"] > 0
    model = load_model(bundle)
    assert isinstance(model, TaggerModel)
    text = "yesterday Carlos Diaz flew to Berlin for work"
    out = model.predict([text])
    found = {(text[s.start : s.end], s.label) for s in out.spans[0]}  # type: ignore[index]
    assert found == {("Carlos Diaz", "person"), ("Berlin", "city")}
    assert all(0 < (s.confidence or 0) <= 1 for s in out.spans[0])  # type: ignore[index]
    assert out.spans_complete is not None and 0 < out.spans_complete[0] <= 1
    assert out.probabilities.shape == (1, 2)
    assert out.probabilities.sum() == pytest.approx(1.0)
    assert out.truncated == [False]


def test_the_onnx_head_agrees_with_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, FEATURE_DIM)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int) * 2 + (x[:, 1] > 0).astype(int)  # tags 0..3 of 5
    head = fit_head(x, y, 5, c=0.5, seed=0, weight=None)
    scaler = StandardScaler().fit(x)
    reference = LogisticRegression(C=0.5, max_iter=300, random_state=0)
    reference.fit(scaler.transform(x), y)
    expected = reference.predict_proba(scaler.transform(x))
    assert np.abs(head.probabilities(x)[:, :4] - expected).max() < 1e-6
    assert head.probabilities(x)[:, 4].max() < 1e-12  # no word had tag 4
    served = onnx_probabilities(head.onnx(), x)
    assert np.abs(served - head.probabilities(x)).max() < 1e-4
    # Two tags only: scikit-learn's one-row binary model is spread over both columns.
    binary = fit_head(x, (x[:, 0] > 0).astype(int), 3, c=0.5, seed=0, weight=None)
    ref2 = LogisticRegression(C=0.5, max_iter=300, random_state=0)
    ref2.fit(scaler.transform(x), (x[:, 0] > 0).astype(int))
    assert (
        np.abs(binary.probabilities(x)[:, :2] - ref2.predict_proba(scaler.transform(x))).max()
        < 1e-6
    )
    # A temperature flattens the served probabilities, never changing the chosen tag.
    warm = head.at(2.0)
    assert (warm.probabilities(x).argmax(1) == head.probabilities(x).argmax(1)).all()
    assert np.abs(onnx_probabilities(warm.onnx(), x) - warm.probabilities(x)).max() < 1e-4


def test_a_text_over_the_encoder_limit_is_truncated_and_flagged(bundle: Path) -> None:
    model = load_model(bundle)
    long_text = "Bob flew to Paris " + "and then on and on " * MAX_TOKENS
    out = model.predict([long_text, ""])
    assert out.truncated == [True, False]
    assert out.spans_complete is not None and out.spans_complete[0] == 0.0
    assert all(s.end <= len(long_text) for s in out.spans[0])  # type: ignore[index]
    assert out.spans[1] == [] and out.spans_complete[1] == 1.0  # type: ignore[index]


def test_bad_input_is_refused_not_crashed_on(bundle: Path) -> None:
    model = load_model(bundle)
    with pytest.raises(InvalidInput):
        model.predict([b"bytes"])
    with pytest.raises(InvalidInput):
        model.predict(np.zeros((1, 3)))


def test_training_refuses_what_it_cannot_learn(encoder: MiniLMEncoder) -> None:
    texts, spans = corpus(4)
    common = {"seed": 0, "name": "t", "version": "v", "dataset": "toy", "encoder": encoder}
    with pytest.raises(ValueError, match="not in label_set"):
        train_tagger(texts, spans, ["person", "town"], **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="span sets"):
        train_tagger(texts, spans[:2], LABELS, **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="single tag"):
        train_tagger(texts, [[] for _ in texts], LABELS, **common)  # type: ignore[arg-type]


def _rewrite(bundle: Path, tmp_path: Path, **training: object) -> Path:
    manifest = ModelManifest.model_validate_json((bundle / MANIFEST_FILE).read_bytes())
    changed = manifest.model_copy(update={"training": manifest.training | training})
    out = tmp_path / "changed"
    write_bundle(out, changed, {"head.onnx": (bundle / "head.onnx").read_bytes()})
    return out


def test_a_bundle_that_does_not_fit_is_refused_at_load(bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="encoder mismatch"):
        load_model(_rewrite(bundle, tmp_path, encoder_sha256="0" * 64))
    with pytest.raises(ModelLoadError, match="BIO tags"):
        load_model(_rewrite(bundle, tmp_path, tags=["O", "B-x", "I-x"]))
    manifest = json.loads((bundle / MANIFEST_FILE).read_text())
    manifest["labels"] = ["person", "city", "country"]
    manifest["training"]["tags"] = ["O"] + [f"{p}-{x}" for x in manifest["labels"] for p in "BI"]
    (tmp_path / "wide").mkdir()
    (tmp_path / "wide" / "head.onnx").write_bytes((bundle / "head.onnx").read_bytes())
    (tmp_path / "wide" / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="7 classes"):
        load_model(tmp_path / "wide")


def test_encode_gives_one_feature_row_per_word(encoder: MiniLMEncoder) -> None:
    tokens = encode(encoder, ["New York, NY", ""])
    assert [len(w) for w in tokens.words] == [4, 0]
    assert tokens.features[0].shape == (4, FEATURE_DIM)
    assert np.allclose(tokens.features[0][0, 384:], 0)  # no word before the first
    assert np.allclose(tokens.features[0][1, 384:], tokens.features[0][0, :384])
