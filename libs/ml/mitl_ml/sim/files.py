"""A labeled CSV or JSON Lines file as a simulator World (`mitl simulate --data FILE`).

The simulator needs, per row, a label and either a text (embedded with the project's MiniLM
encoder, cached under the cache folder by the file's sha256 and the column) or a feature
vector (a JSON array of numbers, used as-is). Everything is checked before any work starts, and
each problem is a DataFileError naming the file, the row and the column, so a bad file costs
seconds and one message rather than a traceback halfway through a run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mitl_client.files import csv_fault
from mitl_contracts.events import NAME_CHARACTERS, NAME_MAX_LENGTH

from mitl_ml.sim.embeddings import (
    DEFAULT_CACHE_DIR,
    TextEncoder,
    cached_encoding,
    file_cache_path,
)
from mitl_ml.sim.world import World

CSV_SUFFIXES = (".csv",)
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".json")
_NAME_UNSAFE = re.compile(rf"[^{NAME_CHARACTERS}]+")


class DataFileError(ValueError):
    """The file cannot be simulated; the message says what is wrong and where."""


@dataclass(frozen=True)
class Row:
    """One record of the file; `where` locates it for messages ("row 3", "line 7")."""

    where: str
    values: dict[str, object]


@dataclass(frozen=True)
class FileSource:
    """Which file and columns to read; exactly one of `text_col` / `features_col`."""

    path: Path
    label_col: str
    text_col: str | None = None
    features_col: str | None = None

    def __post_init__(self) -> None:
        if (self.text_col is None) == (self.features_col is None):
            raise DataFileError("give exactly one of --text-col or --features-col")

    @property
    def name(self) -> str:
        """The file's stem, made a valid dataset name (events refuse other characters)."""
        return (_NAME_UNSAFE.sub("_", self.path.stem).strip("_") or "file")[:NAME_MAX_LENGTH]


def read_rows(path: Path) -> tuple[list[Row], list[str], str]:
    """(rows, column names in first-seen order, sha256 of the bytes) of a CSV / JSONL file."""
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + JSON_LINES_SUFFIXES:
        raise DataFileError(
            f"{path}: unknown file type {suffix or '(no extension)'!r}; "
            "use .csv, or .jsonl / .json with one JSON object per line"
        )
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataFileError(f"{path}: not UTF-8 text ({error})") from None
    rows, columns = _csv_rows(path, content) if suffix == ".csv" else _json_rows(path, content)
    if not rows:
        raise DataFileError(f"{path}: no data rows")
    return rows, columns, hashlib.sha256(raw).hexdigest()


def _csv_rows(path: Path, content: str) -> tuple[list[Row], list[str]]:
    # strict: a stray quote is refused, not read as a field that swallows the rows after it.
    reader = csv.DictReader(io.StringIO(content, newline=""), strict=True)
    records = []
    start = 1  # the line the next record starts on (DictReader's line_num lags a record)
    try:
        if reader.fieldnames is not None:  # reads the header
            start = reader.line_num + 1
        for record in reader:
            records.append(record)
            start = reader.line_num + 1
    except csv.Error as error:
        fault = csv_fault(error)
        raise DataFileError(f"{path}: not valid CSV (line {start}: {fault})") from None
    columns = [c for c in reader.fieldnames or [] if c is not None]
    # Columns missing at the end of a short row come back as None: "no value", checked later.
    rows = [
        Row(f"row {i}", {k: v for k, v in r.items() if k is not None})
        for i, r in enumerate(records, 1)
    ]
    return rows, columns


def _json_rows(path: Path, content: str) -> tuple[list[Row], list[str]]:
    if path.suffix.lower() == ".json" and content.lstrip().startswith("["):
        try:  # a .json file holding one array of objects is read as well
            items = json.loads(content)
        except json.JSONDecodeError as error:
            raise DataFileError(f"{path}: not valid JSON ({error})") from None
        located = [(f"element {i}", item) for i, item in enumerate(items, 1)]
    else:
        located = []
        for number, line in enumerate(content.splitlines(), 1):
            if not line.strip():
                continue
            try:
                located.append((f"line {number}", json.loads(line)))
            except json.JSONDecodeError as error:
                raise DataFileError(
                    f"{path}: line {number} is not valid JSON ({error.msg}); "
                    "JSON Lines files hold one object per line"
                ) from None
    rows: list[Row] = []
    columns: dict[str, None] = {}
    for where, item in located:
        if not isinstance(item, dict):
            raise DataFileError(f"{path}: {where} is a {type(item).__name__}, not an object")
        rows.append(Row(where, item))
        columns.update(dict.fromkeys(item))
    return rows, list(columns)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _require_column(path: Path, column: str, columns: Sequence[str], flag: str) -> None:
    if column not in columns:
        raise DataFileError(
            f"{path}: no column {column!r} ({flag}); the file has {', '.join(map(repr, columns))}"
        )


def _value(path: Path, row: Row, column: str) -> object:
    value = row.values.get(column)
    if value is None:
        raise DataFileError(f"{path}: {row.where} has no value for column {column!r}")
    return value


def _label(path: Path, row: Row, column: str) -> str:
    value = _value(path, row, column)
    if isinstance(value, dict | list):
        raise DataFileError(f"{path}: {row.where}: label in {column!r} is not a single value")
    label = str(value).strip()
    if not label:
        raise DataFileError(f"{path}: {row.where}: empty label in column {column!r}")
    return label


def _text(path: Path, row: Row, column: str) -> str:
    value = _value(path, row, column)
    if not isinstance(value, str):
        raise DataFileError(
            f"{path}: {row.where}: column {column!r} holds {_short(value)}, not text"
        )
    if not value.strip():
        raise DataFileError(f"{path}: {row.where}: empty text in column {column!r}")
    return value


def _features(path: Path, row: Row, column: str) -> list[float]:
    value = _value(path, row, column)
    if isinstance(value, str):  # a CSV cell (or a JSON string) holding a JSON array
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = None
    where = f"{path}: {row.where}: column {column!r}"
    if not isinstance(value, list):
        raise DataFileError(f"{where} is not a JSON array of numbers")
    if not value:
        raise DataFileError(f"{where} is an empty feature vector")
    numbers = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise DataFileError(f"{where} holds {_short(v)}, not a number")
        try:
            number = float(v)
        except OverflowError:  # an integer beyond float64 (JSON 1e400 already reads as inf)
            number = math.inf
        if not math.isfinite(number):
            raise DataFileError(f"{where} holds a non-finite value ({_short(v)})")
        numbers.append(number)
    return numbers


def _feature_matrix(path: Path, rows: list[Row], column: str) -> np.ndarray:
    vectors = [_features(path, row, column) for row in rows]
    width = len(vectors[0])
    for row, vector in zip(rows, vectors, strict=True):
        if len(vector) != width:
            raise DataFileError(
                f"{path}: {row.where}: column {column!r} has {len(vector)} values, "
                f"{rows[0].where} has {width} (all feature vectors must have the same length)"
            )
    return np.asarray(vectors, dtype=np.float64)


def _vector_texts(x: np.ndarray) -> list[str]:
    """Stand-in texts for the router's near-duplicate signatures: one token per distinct
    vector, so only identical vectors count as duplicates of each other."""
    return [f"vector_{hashlib.sha1(row.tobytes()).hexdigest()[:16]}" for row in x]


def load_file(
    source: FileSource, cache_dir: Path = DEFAULT_CACHE_DIR, encoder: TextEncoder | None = None
) -> World:
    """The file as a World; labels sorted, rows in file order. Raises DataFileError."""
    path = source.path
    rows, columns, digest = read_rows(path)
    _require_column(path, source.label_col, columns, "--label-col")
    named = [source.label_col]
    if source.text_col is not None:
        _require_column(path, source.text_col, columns, "--text-col")
        named.append(source.text_col)
    if source.features_col is not None:
        _require_column(path, source.features_col, columns, "--features-col")
        named.append(source.features_col)
    if len(set(named)) != len(named):
        raise DataFileError(f"{path}: the label and input columns must differ, got {named}")
    row_labels = [_label(path, row, source.label_col) for row in rows]
    labels = sorted(set(row_labels))
    if len(labels) < 2:
        raise DataFileError(
            f"{path}: column {source.label_col!r} needs at least 2 distinct labels, "
            f"found {len(labels)} ({', '.join(map(repr, labels))})"
        )
    index = {label: i for i, label in enumerate(labels)}
    truth = np.array([index[label] for label in row_labels])
    if source.features_col is not None:
        x = _feature_matrix(path, rows, source.features_col)
        return World(source.name, labels, _vector_texts(x), x, truth)
    assert source.text_col is not None
    texts = [_text(path, row, source.text_col) for row in rows]
    cache = file_cache_path(digest, source.text_col, cache_dir)
    embeddings, leading = cached_encoding(texts, cache, encoder)
    return World(source.name, labels, texts, embeddings, truth, leading)
