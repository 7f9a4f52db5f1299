"""Image items in an export: every format carries a reference to the image (the path audit
serves it at, and its sha256), never a copy of its bytes."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pyarrow.parquet as pq
from mitl_audit.core.export import arrow_table, export_row, image_path, jsonl_lines
from mitl_audit.core.export_formats import encoder, label_studio_task

from tests.support_images import png
from tests.unit.audit.test_audit_export import record

IMAGE = png(8, 8)
ENCODED = base64.b64encode(IMAGE).decode()


def image_record() -> dict[str, object]:
    content = {"text": None, "vector": None, "image": ENCODED, "metadata": {}}
    return record(dataset="digits", item_id="i-9", label="5", content=json.dumps(content))


def test_an_image_row_references_the_image_by_path_and_digest() -> None:
    row = export_row(image_record())
    assert row["image"] == image_path("digits", "i-9") == "/v1/items/digits/i-9/image"
    assert row["image_sha256"] == hashlib.sha256(IMAGE).hexdigest()
    assert row["text"] is None and row["vector"] is None
    text_row = export_row(record())
    assert text_row["image"] is None and text_row["image_sha256"] is None


def test_no_format_copies_the_image_bytes() -> None:
    row = export_row(image_record())
    outputs = [jsonl_lines([row]).encode()]
    for name in ("csv", "label-studio", "hf-jsonl"):
        chunks = encoder(name)  # type: ignore[arg-type]
        outputs.append(chunks.begin() + chunks.rows([row]) + chunks.end())
    sink = io.BytesIO()
    pq.write_table(arrow_table([row]), sink)
    outputs.append(sink.getvalue())
    for output in outputs:
        assert ENCODED.encode() not in output and b"/v1/items/digits/i-9/image" in output
    table = pq.read_table(io.BytesIO(sink.getvalue()))
    assert table.column("image_sha256").to_pylist() == [hashlib.sha256(IMAGE).hexdigest()]


def test_label_studio_labels_the_image() -> None:
    task = label_studio_task(export_row(image_record()))
    assert task["data"]["image"] == "/v1/items/digits/i-9/image"
    assert task["annotations"][0]["result"][0]["to_name"] == "image"
