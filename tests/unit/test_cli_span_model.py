"""`mitl run` builds a missing span dataset's pre-labeler bundle from the catalog (kind
spacy-ner; measured on gold data only where the dataset has some)."""

from __future__ import annotations

from pathlib import Path

from mitl_cli.commands.run import ensure_model
from mitl_ml.manifest import read_manifest


def test_ensure_model_builds_a_span_datasets_spacy_bundle(tmp_path: Path) -> None:
    catalog = tmp_path / "datasets.yaml"
    catalog.write_text(
        "datasets:\n"
        "  ner:\n"
        "    task: spans\n"
        "    labels: [person, place]\n"
        "    entity_map: {PERSON: person, GPE: place}\n"
        "    model: ner-spacy\n"
    )
    ensure_model(catalog)
    manifest = read_manifest(tmp_path / "ner-spacy")
    assert manifest.kind == "spacy-ner" and manifest.dataset == "ner"
    assert manifest.labels == ["person", "place"]
    assert manifest.metrics == {}  # no gold data for "ner" to measure on
