"""`mitl bootstrap`: a dataset declared without a model gets its first one from a file of
labeled items, trained as the trainer trains (real TREC-6 questions in a CSV; real Yeast
vectors with their label sets in JSON Lines). The bundle loads and scores as inference would
serve it; records that do not fit are listed by line and left out; a file that cannot train
(a class without examples), an unknown dataset and an image dataset are refused with why."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from mitl_cli.main import main
from mitl_ml.datasets import load_dataset
from mitl_ml.manifest import read_manifest
from mitl_ml.multilabel_data import load_yeast
from mitl_ml.runtime import load_model

QUESTIONS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]


@pytest.fixture(scope="module")
def datasets_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seed") / "datasets.yaml"
    path.write_text(
        "datasets:\n"
        "  questions:\n"
        f"    labels: {json.dumps(QUESTIONS)}\n"
        "  genes:\n"
        "    task: multilabel\n"
        "    input_kind: vector\n"
        "    vector_dim: 103\n"
        f"    labels: {json.dumps(list(load_yeast().labels))}\n"
        "  scans:\n"
        "    input_kind: image\n"
        "    labels: [a, b]\n"
    )
    return path


def seed_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["qid", "text", "label"])
        writer.writerows(rows)
    return path


def test_a_csv_of_labeled_questions_gives_a_first_model_that_serves(
    datasets_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = load_dataset("trec6").examples[:300]
    rows = [(f"q{n}", e.text, e.label) for n, e in enumerate(examples)]
    rows += [("q-bad", "What colour is the sky ?", "COLOUR"), ("q-none", "Who ?", "")]
    out = tmp_path / "questions-seed"
    args = ["bootstrap", "questions", str(seed_csv(tmp_path / "seed.csv", rows))]
    code = main([*args, "--id-column", "qid", "--datasets-file", str(datasets_file),
                 "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "left out 2 record(s)" in printed
    assert "line 302: label 'COLOUR' is not one of the dataset's" in printed
    assert "line 303: no label in column 'label'" in printed
    manifest = read_manifest(out)
    assert manifest.dataset == "questions" and manifest.labels == QUESTIONS
    assert manifest.version.startswith("questions-hybrid-t") and manifest.version in printed
    trainer = manifest.training["trainer"]
    assert trainer["trigger"] == "bootstrap" and trainer["trigger_ref"] == "seed.csv"
    assert trainer["verified_train"] + trainer["holdout_items"] == 300
    assert f"mitl models register {out}" in printed
    # Scored as inference serves it: a distribution over the dataset's labels, mostly right.
    model = load_model(out)
    held = load_dataset("trec6").examples[300:400]
    scored = model.predict([e.text for e in held]).probabilities
    assert scored.shape == (100, 6) and np.allclose(scored.sum(axis=1), 1.0, atol=1e-4)
    right = np.mean(
        [QUESTIONS[i] == e.label for i, e in zip(scored.argmax(axis=1), held, strict=True)]
    )
    assert right > 0.6
    assert manifest.metrics["holdout_accuracy"] > 0.6


def test_json_lines_of_vectors_with_label_sets_give_a_one_vs_rest_model(
    datasets_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    yeast = load_yeast()
    path = tmp_path / "genes.jsonl"
    with path.open("w") as f:
        for n, (x, labels) in enumerate(zip(yeast.x[:800], yeast.label_sets()[:800], strict=True)):
            f.write(json.dumps({"id": f"g{n}", "vector": x.tolist(), "labels": labels}) + "\n")
    out = tmp_path / "genes-seed"
    code = main(["bootstrap", "genes", str(path), "--label-column", "labels",
                 "--datasets-file", str(datasets_file), "--out", str(out), "--json"])  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["kind"] == "vector-ovr-onnx" and summary["left_out"] == []
    assert summary["train"] + summary["holdout"] == 800
    assert summary["label_counts"]["Class1"] > 0
    model = load_model(out)
    assert model.multilabel and model.predict(yeast.x[800:810]).probabilities.shape == (10, 14)


def test_what_cannot_train_is_refused_with_why(
    datasets_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = load_dataset("trec6").examples
    no_abbr = [
        (f"q{n}", e.text, e.label) for n, e in enumerate(examples[:200]) if e.label != "ABBR"
    ]
    path = seed_csv(tmp_path / "short.csv", no_abbr)
    where = ["--datasets-file", str(datasets_file), "--out", str(tmp_path / "never")]
    assert main(["bootstrap", "questions", str(path), *where]) == 1
    err = capsys.readouterr().err
    assert "every class needs at least 2 training examples (ABBR has 0)" in err
    assert not (tmp_path / "never").exists()
    assert main(["bootstrap", "nosuch", str(path), *where]) == 1
    assert "unknown dataset 'nosuch'; known: genes, questions, scans" in capsys.readouterr().err
    assert main(["bootstrap", "scans", str(path), *where]) == 1
    assert "takes images" in capsys.readouterr().err
    assert main(["bootstrap", "questions", str(tmp_path / "missing.csv"), *where]) == 1
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text('qid,text,label\nq1,"Who is it ?,HUM\n')
    assert main(["bootstrap", "questions", str(bad), *where]) == 1
    printed = capsys.readouterr()
    assert "line 2: not CSV: a quoted field opened on this line is not closed" in printed.out
    assert "has 0 verified labels" in printed.err


def test_records_left_out_for_one_reason_are_listed_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mitl_trainer.cli import _print_left_out

    unlabeled = [(n, "no label in column 'ls_annotation'") for n in (9, 2, 5, 7, 11, 12, 15)]
    _print_left_out([*unlabeled, (3, "line 3: not CSV: a stray quote")])
    assert capsys.readouterr().out.splitlines() == [
        "left out 8 record(s):",
        "  7 records (lines 2, 5, 7, 9, 11 ...): no label in column 'ls_annotation'",
        "  line 3: not CSV: a stray quote",
    ]
