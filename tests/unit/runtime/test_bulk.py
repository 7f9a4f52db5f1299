"""The bulk-insert builder: one unnest statement from a column -> type spec, rows transposed
into one argument list per column."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from mitl_runtime.bulk import attributes, bulk_insert, columns, insert_sql


def test_statement_numbers_one_typed_array_per_column_in_spec_order() -> None:
    sql = insert_sql("trainer.labels", {"event_id": "text", "seq": "bigint", "at": "timestamptz"})
    assert sql == (
        "INSERT INTO trainer.labels (event_id, seq, at)\n"
        "SELECT * FROM unnest($1::text[], $2::bigint[], $3::timestamptz[])\n"
        "ON CONFLICT DO NOTHING"
    )


def test_conflict_target_upsert_and_returning() -> None:
    sql = insert_sql(
        "review.gold AS g",
        {"gold_id": "text", "label": "text"},
        on_conflict="(gold_id) DO UPDATE SET label = EXCLUDED.label",
        returning="(xmax = 0) AS created",
    )
    assert sql.startswith("INSERT INTO review.gold AS g (gold_id, label)\n")
    assert sql.endswith(
        "ON CONFLICT (gold_id) DO UPDATE SET label = EXCLUDED.label\n"
        "RETURNING (xmax = 0) AS created"
    )


def test_no_conflict_clause() -> None:
    assert "ON CONFLICT" not in insert_sql("a.b", {"x": "int"}, on_conflict=None)


@pytest.mark.parametrize(
    ("table", "spec"),
    [
        ("a.b; DROP TABLE c", {"x": "text"}),
        ("a.b", {"x); --": "text"}),
        ("a.b", {"x": "text[]); --"}),
        ("a.b", {}),
    ],
)
def test_names_are_checked(table: str, spec: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        insert_sql(table, spec)


def test_rows_are_transposed() -> None:
    assert columns([("a", 1, True), ("b", 2, False)], 3) == [["a", "b"], [1, 2], [True, False]]
    assert columns([], 2) == [[], []]
    with pytest.raises(ValueError, match="2 values for 3 columns"):
        columns([("a", 1)], 3)


def test_bulk_insert_gives_the_statement_and_its_arguments() -> None:
    sql, args = bulk_insert(
        "router.decisions",
        {"dataset": "text", "confidence": "float8"},
        [("d", 0.5), ("d", 0.9)],
        on_conflict="(dataset) DO NOTHING",
        returning="dataset",
    )
    assert "unnest($1::text[], $2::float8[])" in sql
    assert sql.endswith("ON CONFLICT (dataset) DO NOTHING\nRETURNING dataset")
    assert args == [["d", "d"], [0.5, 0.9]]


def test_a_row_of_attributes_follows_the_spec_order() -> None:
    record = SimpleNamespace(label="LOC", event_id="e1", unused=True)
    assert attributes(record, {"event_id": "text", "label": "text"}) == ("e1", "LOC")
    with pytest.raises(AttributeError):
        attributes(record, {"missing": "text"})
