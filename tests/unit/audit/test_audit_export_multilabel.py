"""Multi-label export rows: the label set, and in the provenance what a person added and
removed; JSONL and Parquet both carry them, single-label rows stay as they were."""

from __future__ import annotations

import json

import pyarrow as pa
from mitl_audit.core.export import arrow_table, export_row, jsonl_lines

from tests.unit.audit.test_audit_export import record


def multilabel(**fields: object) -> dict[str, object]:
    return record(
        dataset="yeast", label="Class1|Class3", suggested_label="Class1|Class2",
        label_set='["Class1", "Class3"]', suggested_label_set='["Class1", "Class2"]',
        content=json.dumps({"vector": [0.1, 0.2], "metadata": {}}), **fields,
    )  # fmt: skip


def test_multilabel_row_carries_the_set_and_what_changed() -> None:
    row = export_row(multilabel())
    assert row["labels"] == ["Class1", "Class3"] and row["label"] == "Class1|Class3"
    assert row["provenance"]["labels_added"] == ["Class3"]
    assert row["provenance"]["labels_removed"] == ["Class2"]
    assert row["provenance"]["labeled_by"] == "ada" and row["provenance"]["overrides_model"]
    assert json.loads(jsonl_lines([row]))["labels"] == ["Class1", "Class3"]


def test_single_label_rows_are_unchanged_and_both_fit_one_table() -> None:
    single = export_row(record())
    assert "labels" not in single and "labels_added" not in single["provenance"]
    table = arrow_table([single, export_row(multilabel())])
    assert table.column("labels").to_pylist() == [None, ["Class1", "Class3"]]
    assert table.schema.field("labels").type == pa.list_(pa.string())


def test_label_studio_task_lists_every_label_of_the_set() -> None:
    from mitl_audit.core.export_formats import label_studio_task

    task = label_studio_task(export_row(multilabel()))
    [annotation] = task["annotations"]
    assert annotation["result"][0]["value"]["choices"] == ["Class1", "Class3"]
    [prediction] = task["predictions"]
    assert prediction["result"][0]["value"]["choices"] == ["Class1", "Class2"]
