"""Label Studio JSON, CSV and Hugging Face JSONL encodings of export rows, and ExportFile
writing them a chunk at a time; read back with the readers of the Python client (the round
trip) and with pyarrow's JSON reader (what `datasets.load_dataset("json")` uses)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pyarrow.json as pj
import pytest
from mitl_audit.core.export import FORMATS, MEDIA_TYPES, export_row
from mitl_audit.core.export_formats import (
    CSV_COLUMNS,
    EXTENSIONS,
    PROVENANCE_FIELDS,
    encode,
    label_studio_task,
)
from mitl_audit.export_file import ExportFile
from mitl_client.files import Row, read

from tests.unit.audit.test_audit_export import AT, record

LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]


def human() -> dict[str, Any]:
    return export_row(record())


def accepted() -> dict[str, Any]:
    return export_row(
        record(
            item_id="i-8",
            external_id="q8",
            label="HUM",
            source="model",
            action="accept",
            annotator=None,
            role=None,
            suggested_label="HUM",
            is_override=False,
            human_labels=0,
            route="accept",
            confidence=0.97,
            content=json.dumps({"text": "Who is Ada ?", "metadata": {}}),
        )
    )


def test_every_format_has_a_media_type_and_an_extension() -> None:
    assert set(FORMATS) == {
        "jsonl", "parquet", "csv", "label-studio", "labelstudio", "hf-jsonl", "conll", "spacy",
    }  # fmt: skip
    assert set(MEDIA_TYPES) == set(FORMATS) == set(EXTENSIONS)


def test_a_human_label_is_an_annotation_and_the_suggestion_a_prediction() -> None:
    task = label_studio_task(human())
    assert task["data"] == {
        "text": "Where is Ulm ?",
        "external_id": "q7",
        "item_id": "i-7",
        "dataset": "trec6",
        "batch_id": "b-7",
    }
    [annotation] = task["annotations"]
    assert annotation["result"][0]["value"] == {"choices": ["LOC"]}
    assert annotation["meta"] == {"labeled_by": "ada", "role": "annotator"}
    assert annotation["created_at"] == AT.isoformat(timespec="microseconds")
    [prediction] = task["predictions"]
    assert prediction["model_version"] == "m1"
    assert prediction["score"] == 0.61
    assert prediction["result"][0]["value"] == {"choices": ["HUM"]}
    provenance = task["meta"]["mitl"]["provenance"]
    assert (provenance["labeled_by"], provenance["action"], provenance["decision_route"]) == (
        "ada",
        "correct",
        "review",
    )
    assert task["meta"]["mitl"]["metadata"] == {"k": "v"}


def test_an_accepted_label_is_a_prediction_only() -> None:
    task = label_studio_task(accepted())
    assert task["annotations"] == []
    [prediction] = task["predictions"]
    assert (prediction["model_version"], prediction["score"]) == ("m1", 0.97)
    assert prediction["result"][0]["value"] == {"choices": ["HUM"]}
    assert task["meta"]["mitl"]["provenance"]["labeled_by"] == "m1"


def test_label_studio_file_is_one_json_array_even_when_empty() -> None:
    assert json.loads(encode("label-studio", [])) == []
    tasks = json.loads(encode("label-studio", [human(), accepted()]))
    assert [t["data"]["external_id"] for t in tasks] == ["q7", "q8"]


def test_csv_has_a_header_and_flat_provenance() -> None:
    text = encode("csv", [human(), accepted()]).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0]["label"] == "LOC"
    assert rows[0]["provenance.labeled_by"] == "ada"
    assert rows[0]["provenance.overrides_model"] == "true"
    assert rows[0]["provenance.labeled_at"] == AT.isoformat(timespec="microseconds")
    assert json.loads(rows[0]["metadata"]) == {"k": "v"}
    assert rows[0]["vector"] == ""
    assert rows[1]["provenance.labeled_by"] == "m1"
    assert rows[1]["provenance.decision_route"] == "accept"


def test_hugging_face_jsonl_loads_as_flat_columns(tmp_path: Path) -> None:
    path = tmp_path / "trec6.jsonl"
    path.write_bytes(encode("hf-jsonl", [human(), accepted()]))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len({tuple(line) for line in lines}) == 1, "every line has the same keys"
    table = pj.read_json(path)
    assert table.num_rows == 2
    assert table.column("text").to_pylist() == ["Where is Ulm ?", "Who is Ada ?"]
    assert table.column("label").to_pylist() == ["LOC", "HUM"]
    for name in PROVENANCE_FIELDS:
        assert f"provenance_{name}" in table.column_names
    assert table.column("provenance_labeled_by").to_pylist() == ["ada", "m1"]


@pytest.mark.parametrize("format", ["csv", "label-studio", "hf-jsonl"])
def test_export_file_writes_the_format_a_chunk_at_a_time(tmp_path: Path, format: Any) -> None:
    path = tmp_path / f"out.{EXTENSIONS[format]}"
    with ExportFile(path, format) as out:
        out.write([human()])
        out.write([])
        out.write([accepted()])
    assert out.rows == 2
    assert path.read_bytes() == encode(format, [human(), accepted()])


def test_label_studio_export_reads_back_as_items_with_client_predictions(tmp_path: Path) -> None:
    path = tmp_path / "trec6.json"
    path.write_bytes(encode("label-studio", [human(), accepted()]))
    records = list(read(path, labels=LABELS))
    assert all(isinstance(r, Row) for r in records)
    first, second = (r.item for r in records if isinstance(r, Row))
    assert (first.external_id, first.text) == ("q7", "Where is Ulm ?")
    assert first.metadata == {"k": "v", "ls_annotation": "LOC"}
    assert first.prediction is not None and first.prediction.model_id == "m1"
    scores = dict(zip(first.prediction.labels, first.prediction.probabilities, strict=True))
    assert scores["HUM"] == pytest.approx(0.61)
    assert second.prediction is not None
    assert max(second.prediction.probabilities) == pytest.approx(0.97)
    assert "ls_annotation" not in second.metadata
