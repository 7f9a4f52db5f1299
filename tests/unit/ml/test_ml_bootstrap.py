import json
from pathlib import Path

import pytest
from mitl_ml.bootstrap import BootstrapSplits, main
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.manifest import ModelManifest, read_manifest
from mitl_ml.runtime import load_model
from mitl_ml.train import evaluate


def test_splits_are_disjoint(trec_splits: BootstrapSplits) -> None:
    seed, pool, holdout = (
        set(part.texts()) for part in (trec_splits.seed_set, trec_splits.pool, trec_splits.holdout)
    )
    assert len(seed) == 300 and len(holdout) == 1000
    assert not seed & pool and not seed & holdout and not pool & holdout


def test_bootstrap_minilm_accuracy(
    minilm_bundle: tuple[Path, ModelManifest],
    encoder: MiniLMEncoder,
    trec_splits: BootstrapSplits,
) -> None:
    directory, manifest = minilm_bundle
    assert read_manifest(directory) == manifest
    assert (manifest.name, manifest.dataset) == ("trec6-minilm", "trec6")
    assert manifest.version == "trec6-minilm-bootstrap-s0"
    assert manifest.training["n_examples"] == 300
    assert manifest.metrics["holdout_n"] == 1000
    assert manifest.metrics["holdout_accuracy"] > 0.55
    # The served bundle reproduces the metric recorded at training time.
    holdout = trec_splits.holdout
    result = evaluate(load_model(directory, encoder=encoder), holdout.texts(), holdout.label_list())
    assert result["accuracy"] == pytest.approx(manifest.metrics["holdout_accuracy"], abs=1e-3)


def test_cli_prints_one_json_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sms"
    main(["--out", str(out), "--dataset", "sms_spam", "--kind", "tfidf", "--seed-size", "200"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert summary["version"] == "sms_spam-tfidf-bootstrap-s0"
    assert summary["accuracy"] > 0.85
    assert load_model(out).labels == ["ham", "spam"]
