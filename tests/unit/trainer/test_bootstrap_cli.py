"""`mitl bootstrap`: a dataset declared without a model gets its first one from a file of
labeled items, trained as the trainer trains (real TREC-6 questions in a CSV; real Yeast
vectors with their label sets, and scikit-learn's digits as vectors with one label each, in
JSON Lines; the digits as PNG images in a folder per label). The bundle loads and scores as
inference would serve it; records that do not fit are listed by line (a folder's, by file) and
left out; a file that cannot train (a class without examples, content of the wrong kind) and
an unknown dataset are refused with why."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from mitl_cli.main import main
from mitl_ml.datasets import load_dataset
from mitl_ml.images import encode_png
from mitl_ml.manifest import read_manifest
from mitl_ml.multilabel_data import load_yeast
from mitl_ml.runtime import load_model
from sklearn.datasets import load_digits

QUESTIONS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
DIGITS = load_digits()
DIGIT_LABELS = [str(n) for n in range(10)]


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
        f"    labels: {json.dumps(DIGIT_LABELS)}\n"
        "  embeddings:\n"
        "    input_kind: vector\n"
        "    vector_dim: 64\n"
        f"    labels: {json.dumps(DIGIT_LABELS)}\n"
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
    known = "known: embeddings, genes, questions, scans"
    assert f"unknown dataset 'nosuch'; {known}" in capsys.readouterr().err
    # Questions are no images: every record is left out, saying so, and nothing trains.
    assert main(["bootstrap", "scans", str(path), *where]) == 1
    printed = capsys.readouterr()
    assert "dataset 'scans' takes image items, not text" in printed.out
    assert "has 0 verified labels" in printed.err
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


def test_json_lines_of_vectors_with_one_label_each_give_a_vector_head(
    datasets_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "embeddings.jsonl"
    with path.open("w") as f:
        for n in range(500):
            record = {
                "id": f"v{n}",
                "vector": DIGITS.data[n].tolist(),
                "label": str(DIGITS.target[n]),
            }
            f.write(json.dumps(record) + "\n")
        f.write(json.dumps({"id": "short", "vector": [1.0, 2.0], "label": "3"}) + "\n")
    out = tmp_path / "embeddings-seed"
    code = main(["bootstrap", "embeddings", str(path), "--datasets-file", str(datasets_file),
                 "--out", str(out), "--json"])  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["kind"] == "vector-onnx"
    assert summary["version"].startswith("embeddings-vector-t")
    assert summary["left_out"] == [
        {"line": 501, "reason": "vector has 2 values; dataset 'embeddings' takes 64"}
    ]
    assert summary["train"] + summary["holdout"] == 500
    assert summary["metrics"]["holdout_accuracy"] > 0.9
    model = load_model(out)
    held = DIGITS.data[500:600].astype(np.float32)
    predicted = model.predict(held).probabilities.argmax(axis=1)
    assert np.mean(predicted == DIGITS.target[500:600]) > 0.75  # other writers than the seed's


def test_a_folder_of_images_one_subfolder_per_label_gives_a_pixels_head(
    datasets_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "scans"
    for n in range(400):
        label = folder / str(DIGITS.target[n])
        label.mkdir(parents=True, exist_ok=True)
        (label / f"{n:04d}.png").write_bytes(
            encode_png((DIGITS.images[n] * 255 / 16).astype(np.uint8))
        )
    (folder / "loose.png").write_bytes((folder / "0" / "0000.png").read_bytes())
    (folder / "notes.txt").write_text("taken on the 3rd")
    (folder / "3" / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    out = tmp_path / "scans-seed"
    args = [
        "bootstrap",
        "scans",
        str(folder),
        "--datasets-file",
        str(datasets_file),
        "--out",
        str(out),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "left out 3 record(s):" in printed
    assert "  loose.png: at the top of the folder: no subfolder names its label" in printed
    assert "  notes.txt: not an image file (.png, .jpg, .jpeg)" in printed
    assert "  3/cut.png: not a PNG or JPEG image Pillow can read" in printed
    manifest = read_manifest(out)
    assert manifest.kind == "pixels-logreg" and manifest.labels == DIGIT_LABELS
    assert manifest.training["trainer"]["trigger_ref"] == "scans"
    assert manifest.metrics["holdout_accuracy"] > 0.85
    model = load_model(out)
    images = [encode_png((x * 255 / 16).astype(np.uint8)) for x in DIGITS.images[400:500]]
    predicted = model.predict(images).probabilities.argmax(axis=1)
    assert np.mean(predicted == DIGITS.target[400:500]) > 0.85
    # The same folder gives the same bundle: its digest covers the files' names and bytes.
    again = tmp_path / "again"
    assert main([*args[:-1], str(again)]) == 0
    assert read_manifest(again).version == manifest.version
