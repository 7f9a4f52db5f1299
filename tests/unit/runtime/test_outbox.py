"""The runtime's outbox: its SQL, its rows, decoding locked rows by topic, and the one table
shape every service's migration creates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from mitl_contracts import topics
from mitl_contracts.events import DriftAlert, ModelPromoted
from mitl_runtime import outbox
from mitl_runtime.db import OUTBOX_TABLE, expand, migration_files

NOW = datetime(2024, 5, 1, tzinfo=UTC)
SERVICE_OUTBOXES = {
    "mitl_review": "004_runtime_outbox.sql",
    "mitl_trainer": "002_runtime_outbox.sql",
    "mitl_drift": "003_runtime_outbox.sql",
    "mitl_inference": "002_runtime_outbox.sql",
}


def promoted(version: str, status: str = "champion") -> ModelPromoted:
    return ModelPromoted(
        event_id=f"model-{version}-{status}",
        dataset="trec6",
        occurred_at=NOW,
        model_version=version,
        status=status,  # type: ignore[arg-type]
    )


def alert(statistic: str) -> DriftAlert:
    return DriftAlert(
        event_id=f"drift-{statistic}",
        dataset="trec6",
        occurred_at=NOW,
        model_version="m1",
        state="alert",
        statistic=statistic,
        value=0.4,
        threshold=0.2,
        window_size=100,
        reference_size=500,
    )


def test_insert_ignores_event_ids_already_there() -> None:
    assert outbox.insert_sql("trainer") == (
        "INSERT INTO trainer.outbox (event_id, topic, key, payload)\n"
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::json[])\n"
        "ON CONFLICT (event_id) DO NOTHING"
    )


def test_pending_rows_are_locked_oldest_first_and_skipped_when_locked() -> None:
    sql = outbox.lock_pending_sql("review")
    assert "FROM review.outbox WHERE published_at IS NULL" in sql
    assert sql.endswith("ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED")
    assert outbox.mark_published_sql("monitor") == (
        "UPDATE monitor.outbox SET published_at = now() WHERE event_id = ANY($1::text[])"
    )


@pytest.mark.parametrize("schema", ["Review", "review; DROP TABLE x", "", "1review"])
def test_schema_names_are_checked(schema: str) -> None:
    with pytest.raises(ValueError, match="not a schema name"):
        outbox.table(schema)


def test_rows_carry_the_publication_key() -> None:
    event = promoted("m2")
    [row] = outbox.rows(topics.MODELS, [event])
    assert row == (event.event_id, topics.MODELS, "trec6", event.model_dump_json())


def test_decode_groups_by_topic_keeping_row_order() -> None:
    written = [
        *outbox.rows(topics.MODELS, [promoted("m2", "candidate")]),
        *outbox.rows(topics.DRIFT, [alert("confidence")]),
        *outbox.rows(topics.MODELS, [promoted("m2")]),
        *outbox.rows(topics.DRIFT, [alert("classes")]),
    ]
    records = [{"event_id": r[0], "topic": r[1], "payload": r[3]} for r in written]
    assert outbox.decode(records) == [
        (topics.MODELS, [promoted("m2", "candidate"), promoted("m2")]),
        (topics.DRIFT, [alert("confidence"), alert("classes")]),
    ]


@pytest.mark.parametrize(("package", "name"), sorted(SERVICE_OUTBOXES.items()))
def test_each_service_migration_creates_the_runtime_table(package: str, name: str) -> None:
    files = dict(migration_files(package))
    assert name in files, f"{package} has no {name}"
    assert outbox.DDL in files[name]
    assert OUTBOX_TABLE not in files[name]


def test_the_outbox_directive_expands_to_the_ddl_once() -> None:
    sql = f"SELECT 1;\n{OUTBOX_TABLE}\nSELECT 2;\n"
    assert expand(sql) == f"SELECT 1;\n{outbox.DDL}SELECT 2;\n"
    assert expand("-- mitl:outbox-table is mentioned here\n") == (
        "-- mitl:outbox-table is mentioned here\n"
    )
