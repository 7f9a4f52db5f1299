"""Reading a labeled CSV / JSON Lines file into a simulator World (mitl_ml.sim.files): both
formats, feature and text columns, the embedding cache, and every refused input."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest
from mitl_ml.sim.embeddings import file_cache_path
from mitl_ml.sim.files import DataFileError, FileSource, load_file

from tests.unit.sim.fakes import CountingEncoder


def write_csv(path: Path, header: list[str], rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, records: Sequence[Mapping[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_csv_features_become_the_world_as_is(tmp_path: Path) -> None:
    rows = [["b", "[1, 2.5, -3]"], ["a", "[0, 0, 1e-3]"], ["b", "[1, 2.5, -3]"], ["c", "[4,5,6]"]]
    path = write_csv(tmp_path / "my data (v2).csv", ["label", "features"], rows)
    world = load_file(FileSource(path, "label", features_col="features"), tmp_path)
    assert world.name == "my_data_v2"  # a valid dataset name for the router's events
    assert world.labels == ["a", "b", "c"]
    assert world.truth.tolist() == [1, 0, 1, 2]
    assert world.x.dtype == np.float64 and world.x.shape == (4, 3)
    assert world.x[0].tolist() == [1.0, 2.5, -3.0] and world.x[1, 2] == pytest.approx(1e-3)
    # Stand-in texts: identical vectors share one, distinct vectors never do.
    assert world.texts[0] == world.texts[2] and len(set(world.texts)) == 3
    assert not list(tmp_path.glob("*.npy"))  # features are never embedded or cached


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_json_lines_accept_arrays_and_json_strings(tmp_path: Path, suffix: str) -> None:
    records: list[dict[str, object]] = [
        {"y": 0, "v": [1.0, 2.0], "extra": "x"},
        {"y": 1, "v": "[3, 4]"},
        {"y": 0, "v": [5, 6]},
    ]
    path = write_jsonl(tmp_path / f"d{suffix}", records)
    world = load_file(FileSource(path, "y", features_col="v"), tmp_path)
    assert world.labels == ["0", "1"]  # labels are compared as strings
    assert world.truth.tolist() == [0, 1, 0]
    assert world.x.tolist() == [[1, 2], [3, 4], [5, 6]]


def test_a_json_file_may_hold_one_array_of_objects(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps([{"l": "a", "f": [1]}, {"l": "b", "f": [2]}]))
    world = load_file(FileSource(path, "l", features_col="f"), tmp_path)
    assert world.truth.tolist() == [0, 1] and world.x.tolist() == [[1.0], [2.0]]


def test_text_columns_are_embedded_once_and_cached_by_file_and_column(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "t.jsonl",
        [{"label": "a", "text": "first"}, {"label": "b", "text": "second one"}],
    )
    encoder = CountingEncoder()
    source = FileSource(path, "label", text_col="text")
    first = load_file(source, tmp_path / "cache", encoder)
    second = load_file(source, tmp_path / "cache", encoder)
    assert encoder.calls == 1 and np.array_equal(first.x, second.x)
    assert first.texts == ["first", "second one"] and first.x.shape == (2, 384)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert file_cache_path(digest, "text", tmp_path / "cache").exists()
    # Changing the file changes the key: the old embeddings are never reused for it.
    write_jsonl(path, [{"label": "a", "text": "other"}, {"label": "b", "text": "second one"}])
    load_file(source, tmp_path / "cache", encoder)
    cached = sorted(p.name for p in (tmp_path / "cache").glob("*.npy"))
    assert encoder.calls == 2 and len(cached) == 4  # the embeddings and the leading states
    assert sum(name.endswith("-leading.npy") for name in cached) == 2


def test_real_minilm_embeds_a_small_text_file(tmp_path: Path) -> None:
    texts = ["the striker scored a late goal", "shares fell on the stock market"] * 3
    records = [{"label": ["sport", "finance"][i % 2], "text": t} for i, t in enumerate(texts)]
    path = write_jsonl(tmp_path / "news.jsonl", records)
    world = load_file(FileSource(path, "label", text_col="text"), tmp_path)
    assert world.x.shape == (6, 384) and world.x.dtype == np.float32
    assert np.allclose(np.linalg.norm(world.x, axis=1), 1.0, atol=1e-4)
    assert np.allclose(world.x[0], world.x[2], atol=1e-5)  # same text, same vector
    assert float(world.x[0] @ world.x[1]) < 0.9


BAD_FEATURES = [
    ("[]", "empty feature vector"),
    ("[1, NaN]", "non-finite"),
    ("[1, Infinity]", "non-finite"),
    ('[1, "2"]', "not a number"),
    ("[1, true]", "not a number"),
    ("1, 2", "not a JSON array of numbers"),
    ('{"a": 1}', "not a JSON array of numbers"),
    ("[1e400]", "non-finite"),
    ("[1" + "0" * 400 + "]", "non-finite"),
]


@pytest.mark.parametrize(("cell", "message"), BAD_FEATURES)
def test_bad_feature_vectors_are_refused(tmp_path: Path, cell: str, message: str) -> None:
    path = write_csv(tmp_path / "d.csv", ["label", "f"], [["a", "[1, 2]"], ["b", cell]])
    with pytest.raises(DataFileError, match=message) as caught:
        load_file(FileSource(path, "label", features_col="f"), tmp_path)
    assert "row 2" in str(caught.value) and "'f'" in str(caught.value)


def test_ragged_feature_vectors_are_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", ["label", "f"], [["a", "[1, 2]"], ["b", "[1, 2, 3]"]])
    with pytest.raises(DataFileError, match="row 2: column 'f' has 3 values, row 1 has 2"):
        load_file(FileSource(path, "label", features_col="f"), tmp_path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("d.txt", "label,f\n", r"unknown file type '\.txt'"),
        ("d", "label,f\n", r"unknown file type '\(no extension\)'"),
        ("d.csv", "label,f\n", "no data rows"),
        ("d.csv", "", "no data rows"),
        ("d.csv", 'label,f\na,"1" 2\nb,3\n', r"not valid CSV \(line 2: ',' expected"),
        ("d.csv", 'label,f\na,"1\nb,3\n', r"CSV \(line 2: a quoted field opened on this line"),
        ("d.jsonl", '{"label": "a", "f": [1]}\nnot json\n', "line 2 is not valid JSON"),
        ("d.jsonl", '{"label": "a", "f": [1]}\n[1, 2]\n', "line 2 is a list, not an object"),
    ],
)
def test_unreadable_files_are_refused(tmp_path: Path, name: str, content: str, message: str):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataFileError, match=message):
        load_file(FileSource(path, "label", features_col="f"), tmp_path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such file"):
        load_file(FileSource(tmp_path / "nope.csv", "label", features_col="f"), tmp_path)


def test_a_missing_column_is_named_with_the_columns_there_are(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", ["label", "f"], [["a", "[1]"], ["b", "[2]"]])
    with pytest.raises(DataFileError, match=r"no column 'vec' \(--features-col\).*'label', 'f'"):
        load_file(FileSource(path, "label", features_col="vec"), tmp_path)
    with pytest.raises(DataFileError, match=r"no column 'class' \(--label-col\)"):
        load_file(FileSource(path, "class", features_col="f"), tmp_path)


def test_a_row_without_a_value_is_named(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"label": "a", "f": [1]}, {"label": "b"}])
    with pytest.raises(DataFileError, match="line 2 has no value for column 'f'"):
        load_file(FileSource(path, "label", features_col="f"), tmp_path)


def test_one_label_is_not_enough(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", ["label", "f"], [["a", "[1]"], ["a", "[2]"]])
    with pytest.raises(DataFileError, match="at least 2 distinct labels, found 1 \\('a'\\)"):
        load_file(FileSource(path, "label", features_col="f"), tmp_path)


def test_empty_labels_and_texts_are_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", ["label", "text"], [["a", "fine"], ["b", "   "]])
    with pytest.raises(DataFileError, match="row 2: empty text in column 'text'"):
        load_file(FileSource(path, "label", text_col="text"), tmp_path, CountingEncoder())
    path = write_csv(tmp_path / "e.csv", ["label", "text"], [["a", "fine"], ["", "x"]])
    with pytest.raises(DataFileError, match="row 2: empty label in column 'label'"):
        load_file(FileSource(path, "label", text_col="text"), tmp_path)
    path = write_jsonl(
        tmp_path / "n.jsonl", [{"label": "a", "text": 3}, {"label": "b", "text": "x"}]
    )
    with pytest.raises(DataFileError, match="line 1: column 'text' holds 3, not text"):
        load_file(FileSource(path, "label", text_col="text"), tmp_path)


def test_exactly_one_input_column(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="exactly one of --text-col or --features-col"):
        FileSource(tmp_path / "d.csv", "label")
    with pytest.raises(DataFileError, match="exactly one of --text-col or --features-col"):
        FileSource(tmp_path / "d.csv", "label", text_col="t", features_col="f")
    path = write_csv(tmp_path / "d.csv", ["label", "f"], [["a", "[1]"], ["b", "[2]"]])
    with pytest.raises(DataFileError, match="label and input columns must differ"):
        load_file(FileSource(path, "label", features_col="label"), tmp_path)


def test_the_leading_head_reads_the_opening_word_states_beside_the_hybrid_features(
    tmp_path: Path,
) -> None:
    from mitl_ml.sim.world import with_model

    texts = ["How many moons has Mars ?", "Who wrote Hamlet ?", "What is a moon ?"] * 2
    path = write_jsonl(
        tmp_path / "q.jsonl", [{"label": "ab"[i % 2], "text": t} for i, t in enumerate(texts)]
    )
    world = load_file(FileSource(path, "label", text_col="text"), tmp_path / "c", CountingEncoder())
    assert world.leading is not None and world.leading.shape == (6, 384)
    hybrid = with_model(world, "hybrid", tmp_path / "c")
    leading = with_model(world, "hybrid-leading", tmp_path / "c")
    assert leading.x.shape[1] == hybrid.x.shape[1] + 384
    assert world.subset(3, seed=0).leading.shape == (3, 384)  # type: ignore[union-attr]
    vectors = load_file(FileSource(path, "label", text_col="text"), tmp_path / "c")
    without = type(vectors)(vectors.name, vectors.labels, vectors.texts, vectors.x, vectors.truth)
    with pytest.raises(ValueError, match="leading states"):
        with_model(without, "hybrid-leading")
