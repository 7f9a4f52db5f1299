"""Export rows in the formats other tools read, beside JSONL and Parquet (export.py): Label
Studio task JSON, CSV, and JSON Lines laid out for Hugging Face `datasets`. Pure: no I/O.

Each is an `Encoder`: `begin()`, `rows(rows)` for each chunk, `end()`, all bytes, so that a
file is written a chunk at a time (export_file.ExportFile) whatever the format. All keep the
label's provenance: who gave it (the person, or the model version), the action and the routing
decision, and its place in the audit log.

- **Label Studio** (`label-studio`): one JSON array of tasks as Label Studio imports them, for
  a labeling config `<Text name="text" value="$text"/>` (`$vector` for vector datasets,
  `<Image name="image" value="$image"/>` for image datasets: the path audit serves the image
  at) and `<Choices name="label" toName="text">`. `data` holds the content and the item's ids;
  a human label is an `annotations` entry, the model's label (an accepted one, or the suggestion a
  person saw) a `predictions` entry with its `model_version` and `score` (the decision's
  confidence); `meta.mitl` holds the provenance and the metadata.
- **CSV** (`csv`): one row per item, provenance flattened to `provenance.<field>` columns,
  `vector` and `metadata` as JSON text, empty cells for nulls.
- **CoNLL BIO** (`conll`) and **spaCy JSON** (`spacy`), for span datasets, and the span
  results of Label Studio tasks: span_formats.
- **Hugging Face** (`hf-jsonl`): one flat JSON object per line, every line the same keys, so
  that `datasets.load_dataset("json", data_files=...)` reads it as a table of columns: `text`
  and `label` on top, provenance as `provenance_<field>` columns, `metadata` as JSON text
  (its keys vary by item, a column's type may not).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal, Protocol

from mitl_audit.core import label_studio, span_formats
from mitl_audit.core.entries import HUMAN_SOURCES, as_utc
from mitl_audit.core.json_array import JsonArrayEncoder

# `labelstudio` is another name of `label-studio`; `conll` and `spacy` are for span datasets
# (span_formats).
TextFormat = Literal["csv", "label-studio", "labelstudio", "hf-jsonl", "conll", "spacy"]
TEXT_FORMATS: tuple[TextFormat, ...] = (
    "csv",
    "label-studio",
    "labelstudio",
    "hf-jsonl",
    "conll",
    "spacy",
)
SPAN_FORMATS: tuple[TextFormat, ...] = ("conll", "spacy")
MEDIA_TYPES: dict[TextFormat, str] = {
    "csv": "text/csv; charset=utf-8",
    "label-studio": "application/json",
    "labelstudio": "application/json",
    "hf-jsonl": "application/x-ndjson",
    "conll": "text/plain; charset=utf-8",
    "spacy": "application/json",
}
EXTENSIONS: dict[str, str] = {
    "jsonl": "jsonl",
    "parquet": "parquet",
    "csv": "csv",
    "label-studio": "json",
    "labelstudio": "json",
    "hf-jsonl": "jsonl",
    "conll": "conll",
    "spacy": "json",
}

PROVENANCE_FIELDS = (
    "source",
    "labeled_by",
    "role",
    "action",
    "model_version",
    "policy_version",
    "labeled_at",
    "suggested_label",
    "overrides_model",
    "human_labels",
    "decision_route",
    "decision_confidence",
    "spot_check",
    "event_id",
    "audit_seq",
    "audit_row_hash",
)
ROW_FIELDS = (
    "dataset",
    "item_id",
    "external_id",
    "batch_id",
    "text",
    "vector",
    "image",
    "image_sha256",
    "metadata",
    "label",
)


class Encoder(Protocol):
    def begin(self) -> bytes: ...
    def rows(self, rows: list[dict[str, Any]]) -> bytes: ...
    def end(self) -> bytes: ...


def _plain(value: Any) -> Any:
    """`value` with datetimes as ISO 8601 UTC text (JSON's and CSV's form of a time)."""
    if isinstance(value, datetime):
        return as_utc(value).isoformat(timespec="microseconds")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _dumps(value: Any) -> str:
    return json.dumps(_plain(value), ensure_ascii=False)


def _choice(label: str | list[str], to_name: str) -> dict[str, Any]:
    """One choices result: one label, or a multi-label item's set (Label Studio's
    `<Choices choice="multiple">`)."""
    return {
        "from_name": label_studio.FROM_NAME,
        "to_name": to_name,
        "type": "choices",
        "value": {"choices": label if isinstance(label, list) else [label]},
    }


def _as_set(key: str) -> list[str]:
    """A multi-label key ("a|b") as its labels."""
    return sorted(part for part in key.split("|") if part)


def label_studio_task(row: dict[str, Any]) -> dict[str, Any]:
    """One export row as a Label Studio task (see the module docstring)."""
    provenance = _plain(row["provenance"])
    to_name = next((name for name in ("text", "image") if row.get(name) is not None), "vector")
    data: dict[str, Any] = {
        to_name: row[to_name],
        "external_id": row["external_id"],
        "item_id": row["item_id"],
        "dataset": row["dataset"],
        "batch_id": row["batch_id"],
    }
    annotations: list[dict[str, Any]] = []
    predictions: list[dict[str, Any]] = []
    human = provenance["source"] in HUMAN_SOURCES
    multilabel = row.get("labels") is not None
    if row.get("spans") is not None:
        annotations, predictions = span_formats.label_studio_span_results(row, provenance)
    elif human:
        result = [_choice(row["labels"] if multilabel else row["label"], to_name)]
        annotations.append(label_studio.annotation(result, provenance))
    # What the model said: its accepted label, or the suggestion the person was shown.
    predicted = provenance["suggested_label"] if human else row["label"]
    if row.get("spans") is not None:
        predicted = None  # the span results above
    if predicted is not None and provenance["model_version"] is not None:
        result = [_choice(_as_set(predicted) if multilabel else predicted, to_name)]
        predictions.append(label_studio.prediction(result, provenance))
    return {
        "data": data,
        "annotations": annotations,
        "predictions": predictions,
        "meta": {
            "mitl": {"label": row["label"], "provenance": provenance, "metadata": row["metadata"]}
        },
    }


CSV_COLUMNS = (*ROW_FIELDS, *(f"provenance.{name}" for name in PROVENANCE_FIELDS))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return _dumps(value)
    return str(_plain(value))


def csv_record(row: dict[str, Any]) -> list[str]:
    """One export row as CSV cells, in CSV_COLUMNS order."""
    provenance = row["provenance"]
    return [_cell(row[name]) for name in ROW_FIELDS] + [
        _cell(provenance[name]) for name in PROVENANCE_FIELDS
    ]


class CsvEncoder:
    def begin(self) -> bytes:
        return self._lines([list(CSV_COLUMNS)])

    def rows(self, rows: list[dict[str, Any]]) -> bytes:
        return self._lines(csv_record(row) for row in rows)

    def end(self) -> bytes:
        return b""

    @staticmethod
    def _lines(records: Iterable[list[str]]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(records)
        return buffer.getvalue().encode("utf-8")


def hf_record(row: dict[str, Any]) -> dict[str, Any]:
    """One export row as a flat record with the same keys for every item."""
    provenance = _plain(row["provenance"])
    return {
        "dataset": row["dataset"],
        "item_id": row["item_id"],
        "external_id": row["external_id"],
        "batch_id": row["batch_id"],
        "text": row["text"],
        "vector": row["vector"],
        "image": row["image"],
        "image_sha256": row["image_sha256"],
        "metadata": _dumps(row["metadata"]),
        "label": row["label"],
        **{f"provenance_{name}": provenance[name] for name in PROVENANCE_FIELDS},
    }


class HuggingFaceEncoder:
    def begin(self) -> bytes:
        return b""

    def rows(self, rows: list[dict[str, Any]]) -> bytes:
        return "".join(_dumps(hf_record(row)) + "\n" for row in rows).encode("utf-8")

    def end(self) -> bytes:
        return b""


def encoder(format: TextFormat) -> Encoder:
    if format in ("label-studio", "labelstudio"):
        return JsonArrayEncoder(lambda row: _dumps(label_studio_task(row)))
    if format == "conll":
        return span_formats.ConllEncoder()
    if format == "spacy":
        return span_formats.spacy_encoder()
    if format == "csv":
        return CsvEncoder()
    return HuggingFaceEncoder()


def encode(format: TextFormat, rows: list[dict[str, Any]]) -> bytes:
    """The whole file for `rows` (tests, small exports)."""
    out = encoder(format)
    return out.begin() + out.rows(rows) + out.end()
