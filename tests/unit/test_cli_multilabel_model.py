"""`mitl run` builds a missing multi-label text dataset's bootstrap bundle from the catalog
(kind hybrid-ovr-onnx, as `make models` does)."""

from __future__ import annotations

from pathlib import Path

from mitl_cli.commands.run import ensure_model
from mitl_ml.manifest import read_manifest


def test_ensure_model_builds_the_wnut16_types_one_vs_rest_bundle(tmp_path: Path) -> None:
    catalog = tmp_path / "datasets.yaml"
    catalog.write_text(
        "datasets:\n"
        "  wnut16-types:\n"
        "    task: multilabel\n"
        "    labels: [company, facility, geo-loc, movie, musicartist, other, person, product,\n"
        "             sportsteam, tvshow]\n"
        "    model: wnut16-types-ovr\n"
    )
    ensure_model(catalog)
    manifest = read_manifest(tmp_path / "wnut16-types-ovr")
    assert manifest.kind == "hybrid-ovr-onnx" and manifest.dataset == "wnut16-types"
    assert manifest.version == "wnut16-types-ovr-bootstrap-s0"
    assert manifest.metrics["holdout_label_decision_accuracy"] > 0.9
