"""The labeled dataset as export rows: one per labeled item, its final label and that label's
provenance. Pure: no I/O.

The final label of an item is its latest human label (annotator or expert) if it has one, else
its latest label from a model (auto-accepted). Provenance says where the label came from
(source, who, action, model and policy versions, time) and pins it to the audit log: the
label's event id, its row's seq and row_hash, which `mitl audit verify` vouches for.

JSONL and Parquet carry the same fields: a JSON object per line, or a Parquet table with the
`ARROW_SCHEMA` columns (`provenance` a struct, `metadata` a map). An image item's row carries a
reference to its image, never the bytes: `image` is the path audit serves it at
(GET /v1/items/{dataset}/{item_id}/image) and `image_sha256` the digest of its bytes. Label
Studio JSON, CSV and Hugging Face JSONL are encoded by export_formats, CoNLL BIO and spaCy JSON
(span datasets) by span_formats. A span item's row carries its `spans` and `suggested_spans`,
and its provenance the spans a person added, removed and relabelled.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa

from mitl_audit.core import export_formats
from mitl_audit.core.entries import HUMAN_SOURCES, as_utc

Format = Literal[
    "jsonl", "parquet", "csv", "label-studio", "labelstudio", "hf-jsonl", "conll", "spacy"
]
FORMATS: tuple[Format, ...] = ("jsonl", "parquet", *export_formats.TEXT_FORMATS)
MEDIA_TYPES: dict[Format, str] = {
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
    "csv": export_formats.MEDIA_TYPES["csv"],
    "label-studio": export_formats.MEDIA_TYPES["label-studio"],
    "labelstudio": export_formats.MEDIA_TYPES["labelstudio"],
    "hf-jsonl": export_formats.MEDIA_TYPES["hf-jsonl"],
    "conll": export_formats.MEDIA_TYPES["conll"],
    "spacy": export_formats.MEDIA_TYPES["spacy"],
}
SPAN = pa.struct(
    [
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("label", pa.string()),
        ("confidence", pa.float64()),
    ]
)

PROVENANCE = pa.struct(
    [
        ("source", pa.string()),
        ("labeled_by", pa.string()),
        ("role", pa.string()),
        ("action", pa.string()),
        ("model_version", pa.string()),
        ("policy_version", pa.string()),
        # The version of the dataset's labeling guidelines the person saw (None: a model's
        # label, or guidelines not recorded).
        ("guideline_version", pa.int64()),
        ("labeled_at", pa.timestamp("us", tz="UTC")),
        ("suggested_label", pa.string()),
        ("overrides_model", pa.bool_()),
        ("human_labels", pa.int64()),
        ("decision_route", pa.string()),
        ("decision_confidence", pa.float64()),
        ("spot_check", pa.bool_()),
        # Multi-label items: the labels a person added to and removed from the model's set.
        ("labels_added", pa.list_(pa.string())),
        ("labels_removed", pa.list_(pa.string())),
        # Span items: the spans a person added, removed and relabelled (Label.span_changes).
        ("spans_added", pa.list_(SPAN)),
        ("spans_removed", pa.list_(SPAN)),
        ("spans_relabelled", pa.list_(SPAN)),
        ("event_id", pa.string()),
        ("audit_seq", pa.int64()),
        ("audit_row_hash", pa.string()),
    ]
)
ARROW_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("item_id", pa.string()),
        ("external_id", pa.string()),
        ("batch_id", pa.string()),
        ("text", pa.string()),
        ("vector", pa.list_(pa.float64())),
        ("image", pa.string()),
        ("image_sha256", pa.string()),
        ("metadata", pa.map_(pa.string(), pa.string())),
        ("label", pa.string()),
        # Multi-label items: the label set (`label` is then its key, labels joined by '|').
        ("labels", pa.list_(pa.string())),
        # Span items: the final spans (`label` is their key) and the model's suggested spans
        # with their confidences (a human label's; None for the model's own).
        ("spans", pa.list_(SPAN)),
        ("suggested_spans", pa.list_(SPAN)),
        ("provenance", PROVENANCE),
    ]
)


def format_problem(format: Format, task: str | None) -> str | None:
    """Why a dataset of `task` (None: not in the catalog) cannot be exported as `format`:
    CoNLL BIO and spaCy JSON hold entity spans, so only span datasets have them."""
    if format in export_formats.SPAN_FORMATS and task is not None and task != "spans":
        return f"format {format!r} holds entity spans; this dataset's task is {task!r}"
    return None


def image_path(dataset: str, item_id: str) -> str:
    """Where audit serves an image item's bytes (routes/images.py)."""
    return f"/v1/items/{dataset}/{item_id}/image"


def image_reference(
    dataset: str, item_id: str, content: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    """(path, sha256) of an image item's image; (None, None) for text and vector items."""
    encoded = content.get("image")
    if not encoded:
        return None, None
    digest = hashlib.sha256(base64.b64decode(encoded)).hexdigest()
    return image_path(dataset, item_id), digest


def labeled_by(source: str, annotator: str | None, model_version: str | None) -> str | None:
    """Who gave the label: the person for a human label, else the model version."""
    if source in HUMAN_SOURCES:
        return annotator
    return model_version


def export_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """The export row of one item, from a record with the item's final label row (seq,
    event_id, item_id, label, source, action, annotator, role, suggested_label, model_version,
    policy_version, guideline_version (may be absent), is_override, occurred_at, row_hash,
    label_batch_id, human_labels), its audit.items row (external_id, batch_id, content as
    JSON text, any of them None if audit never saw the item) and its decision (route,
    confidence, spot_check; None if none)."""
    content = json.loads(record["content"]) if record["content"] else {}
    image, image_sha256 = image_reference(record["dataset"], record["item_id"], content)
    spot_check = record["spot_check"]
    labels, suggested = label_sets(record)
    changes = None
    if labels is not None and suggested is not None:
        changes = (sorted(set(labels) - set(suggested)), sorted(set(suggested) - set(labels)))
    row = {
        "dataset": record["dataset"],
        "item_id": record["item_id"],
        "external_id": record["external_id"],
        # The batch ingest put the item in; the label's own batch id if audit never saw it.
        "batch_id": record["batch_id"]
        if record["batch_id"] is not None
        else record["label_batch_id"],
        "text": content.get("text"),
        "vector": content.get("vector"),
        "image": image,
        "image_sha256": image_sha256,
        "metadata": content.get("metadata") or {},
        "label": record["label"],
        "provenance": {
            "source": record["source"],
            "labeled_by": labeled_by(
                record["source"], record["annotator"], record["model_version"]
            ),
            "role": record["role"],
            "action": record["action"],
            "model_version": record["model_version"],
            "policy_version": record["policy_version"] or None,
            "guideline_version": record.get("guideline_version"),
            "labeled_at": as_utc(record["occurred_at"]),
            "suggested_label": record["suggested_label"],
            "overrides_model": bool(record["is_override"]),
            "human_labels": int(record["human_labels"]),
            "decision_route": record["route"],
            "decision_confidence": record["confidence"],
            "spot_check": None if spot_check is None else spot_check == "true",
            "event_id": record["event_id"],
            "audit_seq": int(record["seq"]),
            "audit_row_hash": record["row_hash"],
        },
    }
    return _with_spans(_with_label_set(row, labels, changes), record)


SPAN_CHANGES = ("added", "removed", "relabelled")


def _with_spans(row: dict[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """A span item's row also carries its spans, the suggested spans and, in its provenance,
    the spans a person added, removed and relabelled (JSON text in the record's `span_set`,
    `suggested_span_set` and `span_changes`; other rows are left as they were)."""
    raw = record.get("span_set")
    if not raw or raw == "null":
        return row
    suggested = record.get("suggested_span_set")
    provenance = dict(row["provenance"])
    if record.get("span_changes"):
        changes = json.loads(record["span_changes"])
        provenance |= {f"spans_{kind}": changes.get(kind, []) for kind in SPAN_CHANGES}
    head = {k: v for k, v in row.items() if k != "provenance"}
    return head | {
        "spans": json.loads(raw),
        "suggested_spans": json.loads(suggested) if suggested and suggested != "null" else None,
        "provenance": provenance,
    }


def _with_label_set(
    row: dict[str, Any], labels: list[str] | None, changes: tuple[list[str], list[str]] | None
) -> dict[str, Any]:
    """A multi-label item's row also carries its label set and, in its provenance, what a
    person added and removed (a single-label row is left as it was)."""
    if labels is None:
        return row
    provenance = dict(row["provenance"])
    if changes is not None:
        provenance |= {"labels_added": changes[0], "labels_removed": changes[1]}
    head = {k: v for k, v in row.items() if k != "provenance"}
    return head | {"labels": labels, "provenance": provenance}


def label_sets(record: Mapping[str, Any]) -> tuple[list[str] | None, list[str] | None]:
    """A multi-label item's label set and the model's suggested set (JSON text in the record's
    `label_set` and `suggested_label_set`; None for single-label items)."""
    raw, raw_suggested = record.get("label_set"), record.get("suggested_label_set")
    labels = json.loads(raw) if raw else None
    suggested = json.loads(raw_suggested) if raw_suggested else None
    return labels, suggested


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return as_utc(value).isoformat(timespec="microseconds")
    raise TypeError(f"no JSON for {type(value).__name__}")


def jsonl_lines(rows: Iterable[dict[str, Any]]) -> str:
    """The rows as JSON Lines: one object per line, each line ending in a newline."""
    return "".join(
        json.dumps(row, default=_json_default, ensure_ascii=False, sort_keys=False) + "\n"
        for row in rows
    )


def arrow_table(rows: list[dict[str, Any]]) -> pa.Table:
    """The rows as an Arrow table with ARROW_SCHEMA (also for no rows)."""
    prepared = [row | {"metadata": list(row["metadata"].items())} for row in rows]
    return pa.Table.from_pylist(prepared, schema=ARROW_SCHEMA)
