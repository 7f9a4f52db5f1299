"""Bulk inserts in one statement: `INSERT ... SELECT * FROM unnest($1::type[], ...)`.

A batch of rows goes to Postgres as one array per column (asyncpg encodes a Python list as an
array), so inserting a thousand rows costs one round trip and one statement plan, whatever
the batch size. `insert_sql` builds the statement from a column -> type spec; `columns`
transposes rows (tuples, in spec order) into the per-column argument lists; `bulk_insert` does
both:

    sql, args = bulk_insert("trainer.labels", {"event_id": "text", "seq": "bigint"}, rows,
                            on_conflict="(event_id) DO NOTHING")
    await conn.execute(sql, *args)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
TABLE = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?( AS [a-z_][a-z0-9_]*)?$")
TYPE = re.compile(r"^[a-z_][a-z0-9_ ]*$")


def insert_sql(
    table: str,
    spec: Mapping[str, str],
    *,
    on_conflict: str | None = "DO NOTHING",
    returning: str | None = None,
) -> str:
    """`INSERT INTO table (cols) SELECT * FROM unnest($1::t1[], ...) [ON CONFLICT ...]
    [RETURNING ...]`; the parameters are numbered in the order of `spec`.

    `table` is schema-qualified, optionally with an alias (`review.gold AS g`) that an upsert's
    `on_conflict` clause refers to; `on_conflict` is what follows ON CONFLICT (`DO NOTHING`,
    `(event_id) DO NOTHING`, `(id) DO UPDATE SET ...`), None for no clause."""
    if not TABLE.match(table):
        raise ValueError(f"not a table name: {table!r}")
    if not spec:
        raise ValueError("a bulk insert needs at least one column")
    for column, type_ in spec.items():
        if not IDENTIFIER.match(column):
            raise ValueError(f"not a column name: {column!r}")
        if not TYPE.match(type_):
            raise ValueError(f"not a type name: {type_!r}")
    names = ", ".join(spec)
    arrays = ", ".join(f"${i}::{type_}[]" for i, type_ in enumerate(spec.values(), 1))
    sql = f"INSERT INTO {table} ({names})\nSELECT * FROM unnest({arrays})"
    if on_conflict is not None:
        sql += f"\nON CONFLICT {on_conflict}"
    if returning is not None:
        sql += f"\nRETURNING {returning}"
    return sql


def columns(rows: Iterable[Sequence[Any]], width: int) -> list[list[Any]]:
    """The rows transposed: one list per column (`width` of them, empty for no rows)."""
    transposed: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        if len(row) != width:
            raise ValueError(f"a row of {len(row)} values for {width} columns: {row!r}")
        for column, value in zip(transposed, row, strict=True):
            column.append(value)
    return transposed


def attributes(record: object, spec: Mapping[str, str]) -> tuple[Any, ...]:
    """A row of `record`'s attributes named as the columns of `spec`, in the order of `spec`."""
    return tuple(getattr(record, column) for column in spec)


def bulk_insert(
    table: str,
    spec: Mapping[str, str],
    rows: Iterable[Sequence[Any]],
    *,
    on_conflict: str | None = "DO NOTHING",
    returning: str | None = None,
) -> tuple[str, list[list[Any]]]:
    """The statement inserting `rows` (tuples in the order of `spec`) into `table`, and its
    arguments: `await conn.execute(sql, *args)`."""
    sql = insert_sql(table, spec, on_conflict=on_conflict, returning=returning)
    return sql, columns(rows, len(spec))
