"""Export rows and their provenance, JSONL and Parquet encodings, all-or-nothing files, and the
item rows audit keeps for exports."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from mitl_audit.core.entries import Unloggable
from mitl_audit.core.export import ARROW_SCHEMA, arrow_table, export_row, jsonl_lines
from mitl_audit.core.items import item_row
from mitl_audit.export_file import ExportFile, ExportPathError
from mitl_contracts.events import ItemContent, ItemIngested

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def record(**fields: Any) -> dict[str, Any]:
    """A final-label record as store/export.py's query returns it: a human correction."""
    defaults: dict[str, Any] = {
        "dataset": "trec6",
        "seq": 42,
        "event_id": "label-task-7",
        "item_id": "i-7",
        "label": "LOC",
        "source": "annotator",
        "action": "correct",
        "annotator": "ada",
        "role": "annotator",
        "suggested_label": "HUM",
        "model_version": "m1",
        "policy_version": "p1",
        "guideline_version": 3,
        "is_override": True,
        "occurred_at": AT,
        "row_hash": "ab" * 32,
        "label_batch_id": "b-label",
        "human_labels": 2,
        "external_id": "q7",
        "batch_id": "b-7",
        "content": json.dumps({"text": "Where is Ulm ?", "vector": None, "metadata": {"k": "v"}}),
        "route": "review",
        "confidence": 0.61,
        "spot_check": "false",
    }
    return defaults | fields


def test_a_human_label_row_names_the_person_versions_time_and_audit_row() -> None:
    row = export_row(record())
    assert (row["item_id"], row["external_id"], row["batch_id"]) == ("i-7", "q7", "b-7")
    assert (row["text"], row["vector"], row["metadata"]) == ("Where is Ulm ?", None, {"k": "v"})
    assert row["label"] == "LOC"
    assert row["provenance"] == {
        "source": "annotator",
        "labeled_by": "ada",
        "role": "annotator",
        "action": "correct",
        "model_version": "m1",
        "policy_version": "p1",
        "guideline_version": 3,
        "labeled_at": AT,
        "suggested_label": "HUM",
        "overrides_model": True,
        "human_labels": 2,
        "decision_route": "review",
        "decision_confidence": 0.61,
        "spot_check": False,
        "event_id": "label-task-7",
        "audit_seq": 42,
        "audit_row_hash": "ab" * 32,
    }


def test_an_auto_accepted_label_is_by_the_model_version() -> None:
    row = export_row(
        record(
            source="model",
            action="auto_accept",
            annotator=None,
            role=None,
            label="HUM",
            is_override=False,
            human_labels=0,
            route="accept",
            spot_check="true",
            guideline_version=None,
        )
    )
    provenance = row["provenance"]
    assert provenance["guideline_version"] is None
    assert (provenance["source"], provenance["labeled_by"]) == ("model", "m1")
    assert provenance["spot_check"] is True and provenance["overrides_model"] is False


def test_an_item_audit_never_saw_keeps_its_label_and_the_label_batch() -> None:
    row = export_row(
        record(external_id=None, batch_id=None, content=None, route=None, spot_check=None)
    )
    assert (row["text"], row["metadata"], row["batch_id"]) == (None, {}, "b-label")
    assert row["provenance"]["decision_route"] is None
    assert row["provenance"]["spot_check"] is None


def test_jsonl_is_one_object_per_line_with_utc_times() -> None:
    rows = [export_row(record()), export_row(record(item_id="i-8", label="NUM"))]
    lines = jsonl_lines(rows).splitlines()
    assert len(lines) == 2 and jsonl_lines(rows).endswith("\n")
    first = json.loads(lines[0])
    assert first["provenance"]["labeled_at"] == "2026-03-01T12:00:00.000000+00:00"
    assert json.loads(lines[1])["label"] == "NUM"


def test_the_arrow_table_has_the_schema_even_when_empty() -> None:
    assert arrow_table([]).schema == ARROW_SCHEMA and arrow_table([]).num_rows == 0
    table = arrow_table([export_row(record())])
    back = table.to_pylist()[0]
    assert back["metadata"] == [("k", "v")]
    assert back["provenance"]["labeled_at"] == AT
    assert back["provenance"]["audit_seq"] == 42


@pytest.mark.parametrize("format", ["jsonl", "parquet"])
def test_a_file_appears_complete_with_no_temporary_left(tmp_path: Path, format: str) -> None:
    target = tmp_path / f"out.{format}"
    with ExportFile(target, format) as out:  # type: ignore[arg-type]
        out.write([export_row(record(item_id=f"i-{n}")) for n in range(3)])
        out.write([])
        out.write([export_row(record(item_id="i-9"))])
        assert not target.exists()
    assert out.rows == 4
    assert os.listdir(tmp_path) == [target.name]
    if format == "parquet":
        table = pq.read_table(target)
        assert table.schema == ARROW_SCHEMA
        assert table.column("item_id").to_pylist() == ["i-0", "i-1", "i-2", "i-9"]
    else:
        assert len(target.read_text().splitlines()) == 4


def test_a_failure_while_writing_leaves_no_file_and_keeps_an_old_one(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("previous export\n")
    with (
        pytest.raises(RuntimeError, match="database went away"),
        ExportFile(target, "jsonl") as out,
    ):
        out.write([export_row(record())])
        raise RuntimeError("database went away")
    assert os.listdir(tmp_path) == ["out.jsonl"]
    assert target.read_text() == "previous export\n"


def test_unwritable_targets_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ExportPathError, match=r"cannot write the export to .*missing"):
        ExportFile(tmp_path / "missing" / "out.jsonl", "jsonl").__enter__()
    with pytest.raises(ExportPathError, match="is a directory"):
        ExportFile(tmp_path, "parquet").__enter__()
    # A path through a file is unwritable for everyone, root included.
    plain = tmp_path / "plain-file"
    plain.write_text("")
    with pytest.raises(ExportPathError, match="Not a directory"):
        ExportFile(plain / "out.jsonl", "jsonl").__enter__()
    assert sorted(os.listdir(tmp_path)) == ["plain-file"]


def test_an_item_row_keeps_content_as_json_and_refuses_nul() -> None:
    event = ItemIngested(
        event_id="ingested-1",
        dataset="trec6",
        item_id="i-1",
        external_id="q1",
        batch_id="b-1",
        content=ItemContent(text="Who wrote Hamlet ?", metadata={"src": "faq"}),
        occurred_at=AT,
    )
    row = item_row(event)
    assert (row.dataset, row.item_id, row.batch_id, row.occurred_at) == ("trec6", "i-1", "b-1", AT)
    assert json.loads(row.content) == {
        "text": "Who wrote Hamlet ?",
        "vector": None,
        "image": None,
        "metadata": {"src": "faq"},
    }
    assert item_row(event) == row
    bad = event.model_copy(update={"content": ItemContent(text="a\x00b")})
    with pytest.raises(Unloggable, match="NUL"):
        item_row(bad)
