"""The audit log in real Postgres: append-only privileges, idempotent and serialised appends,
and `mitl audit verify` / `mitl audit report` exit codes. No broker needed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from mitl_audit.core.chain import GENESIS, Head, Row, seal
from mitl_audit.core.entries import Entry, entry_for
from mitl_audit.core.items import item_row
from mitl_audit.store import items, log
from mitl_cli.main import main as mitl
from mitl_contracts.events import Decision, ItemContent, ItemIngested, Label
from mitl_runtime.db import create_pool, migrate
from mitl_runtime.localinfra import create_database, drop_database

pytestmark = pytest.mark.integration
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def audit_db(database_url: str) -> AsyncIterator[str]:
    """A database of its own, migrated: these tests rewrite history on purpose."""
    name = f"audit_{uuid.uuid4().hex[:10]}"
    url = await create_database(database_url, name)
    pool = await create_pool(url, max_size=2)
    try:
        await migrate(pool, "audit", "mitl_audit")
    finally:
        await pool.close()
    yield url
    await drop_database(database_url, name)


def label_entry(n: int, dataset: str = "trec6", override: bool = True) -> Entry:
    return entry_for(
        Label(
            event_id=f"label-{n}",
            dataset=dataset,
            item_id=f"item-{n}",
            label="HUM" if override else "LOC",
            source="annotator",
            action="correct" if override else "confirm",
            annotator="ada",
            suggested_label="LOC",
            model_version="m1",
            occurred_at=AT,
        )
    )


def decision_entry(n: int, route: str = "review") -> Entry:
    return entry_for(
        Decision.model_validate(
            {
                "event_id": f"decision-{n}",
                "dataset": "trec6",
                "item_id": f"item-{n}",
                "batch_id": "b1",
                "prediction_event_id": f"prediction-{n}",
                "route": route,
                "reason": "r",
                "predicted_label": "LOC",
                "confidence": 0.5,
                "model_version": "m1",
                "policy_version": "p1",
                "occurred_at": AT,
            }
        )
    )


async def cli(*argv: str) -> int:
    # The CLI runs its own event loop (asyncio.run); give it a thread of its own.
    return await asyncio.to_thread(mitl, list(argv))


async def insert_as_superuser(conn: asyncpg.Connection, rows: list[Row]) -> None:
    columns = [row.columns() for row in rows]
    await conn.fetch(log.INSERT, *([c[name] for c in columns] for name in log.COLUMNS))


async def test_migration_creates_an_append_only_writer_role(audit_db: str) -> None:
    pool = await create_pool(audit_db, max_size=2)
    try:
        assert await migrate(pool, "audit", "mitl_audit") == []
        role = await pool.fetchrow(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'mitl_audit_writer'"
        )
        assert role is not None and role["rolcanlogin"] is False
        granted = {
            privilege: await pool.fetchval(
                "SELECT has_table_privilege('mitl_audit_writer', 'audit.log', $1)", privilege
            )
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
        }
        assert granted == {
            "SELECT": True,
            "INSERT": True,
            "UPDATE": False,
            "DELETE": False,
            "TRUNCATE": False,
        }
    finally:
        await pool.close()


async def test_writer_cannot_change_history_and_owner_is_stopped_by_the_trigger(
    audit_db: str,
) -> None:
    pool = await create_pool(audit_db, max_size=2)
    try:
        await log.append(pool, [label_entry(1), label_entry(2)])
        async with pool.acquire() as conn:
            for statement in (
                "UPDATE audit.log SET label = 'X' WHERE seq = 1",
                "DELETE FROM audit.log WHERE seq = 2",
                "TRUNCATE audit.log",
            ):
                with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
                    async with conn.transaction():
                        await conn.execute("SET LOCAL ROLE mitl_audit_writer")
                        await conn.execute(statement)
                # The owner has the privileges, but the trigger refuses.
                with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                    await conn.execute(statement)
        assert await pool.fetchval("SELECT count(*) FROM audit.log") == 2
    finally:
        await pool.close()


async def test_item_copies_are_append_only_too(audit_db: str) -> None:
    pool = await create_pool(audit_db, max_size=2)
    try:
        event = ItemIngested(
            event_id="ingested-1",
            dataset="trec6",
            item_id="i-1",
            external_id="q1",
            batch_id="b1",
            content=ItemContent(text="Who wrote Hamlet ?"),
            occurred_at=AT,
        )
        assert await items.record(pool, [item_row(event), item_row(event)]) == ["trec6"]
        assert await items.record(pool, [item_row(event)]) == []
        async with pool.acquire() as conn:
            for statement in ("UPDATE audit.items SET batch_id = 'X'", "DELETE FROM audit.items"):
                with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
                    async with conn.transaction():
                        await conn.execute("SET LOCAL ROLE mitl_audit_writer")
                        await conn.execute(statement)
                with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                    await conn.execute(statement)
        assert await pool.fetchval("SELECT batch_id FROM audit.items") == "b1"
    finally:
        await pool.close()


async def test_replayed_and_concurrent_appends_keep_one_contiguous_chain(audit_db: str) -> None:
    pools = [await create_pool(audit_db, max_size=4) for _ in range(2)]
    try:
        entries = [label_entry(n) if n % 3 else decision_entry(n) for n in range(60)]
        # Twelve overlapping batches from two "replicas" at once: every event is in two.
        batches = [entries[i : i + 10] for i in range(0, 60, 5)]
        results = await asyncio.gather(
            *(log.append(pools[i % 2], batch) for i, batch in enumerate(batches))
        )
        appended = sorted(row.seq for rows in results for row in rows)
        assert appended == list(range(1, 61))
        assert await log.append(pools[0], entries) == []
        count, distinct = await pools[0].fetchrow(
            "SELECT count(*), count(DISTINCT event_id) FROM audit.log"
        )
        assert count == distinct == 60
    finally:
        for pool in pools:
            await pool.close()
    assert await cli("audit", "verify", "--database-url", audit_db) == 0


async def test_verify_names_the_row_a_superuser_altered_removed_or_slipped_in(
    audit_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pool = await create_pool(audit_db, max_size=2)
    try:
        await log.append(pool, [label_entry(n) for n in range(6)])
        assert await cli("audit", "verify", "--database-url", audit_db) == 0
        assert capsys.readouterr().out.strip() == "ok: 6 rows"

        async with pool.acquire() as conn:

            async def tamper(statement: str, *args: object) -> None:
                await conn.execute("ALTER TABLE audit.log DISABLE TRIGGER log_no_update_or_delete")
                await conn.execute(statement, *args)
                await conn.execute("ALTER TABLE audit.log ENABLE TRIGGER log_no_update_or_delete")

            await tamper("UPDATE audit.log SET label = 'FORGED' WHERE seq = 3")
            assert await cli("audit", "verify", "--database-url", audit_db) == 1
            err = capsys.readouterr().err
            assert "FAILED at seq 3 (altered)" in err and "2 rows before it verified" in err

            await tamper("UPDATE audit.log SET label = 'HUM' WHERE seq = 3")
            assert await cli("audit", "verify", "--database-url", audit_db) == 0
            capsys.readouterr()

            original = Row.from_record(await conn.fetchrow(f"{log.SELECT_ROWS} WHERE seq = 5"))
            await tamper("DELETE FROM audit.log WHERE seq = 5")
            assert await cli("audit", "verify", "--database-url", audit_db) == 1
            assert "FAILED at seq 5 (removed): row 5 removed" in capsys.readouterr().err

            await insert_as_superuser(conn, [original])
            assert await cli("audit", "verify", "--database-url", audit_db) == 0
            capsys.readouterr()

            # A row hashed correctly on its own, but not chained to the head it follows.
            forged = seal([label_entry(99)], Head(6, GENESIS), datetime.now(UTC))
            await insert_as_superuser(conn, forged)
            assert await cli("audit", "verify", "--database-url", audit_db) == 1
            assert "FAILED at seq 7 (broken_link)" in capsys.readouterr().err
    finally:
        await pool.close()


async def test_verify_says_when_the_log_cannot_be_read(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = database_url.rpartition("/")[0] + f"/absent_{uuid.uuid4().hex[:8]}"
    assert await cli("audit", "verify", "--database-url", missing) == 2
    assert "cannot read the audit log" in capsys.readouterr().err


async def test_report_command_prints_json_or_csv(
    audit_db: str,
    datasets_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MITL_DATASETS_FILE", str(datasets_file))
    pool = await create_pool(audit_db, max_size=2)
    try:
        await log.append(
            pool,
            [
                decision_entry(1, "accept"),
                decision_entry(2),
                label_entry(2),
                label_entry(3, override=False),
            ],
        )
    finally:
        await pool.close()
    db = ("--database-url", audit_db)
    assert await cli("audit", "report", "--dataset", "trec6", *db) == 0
    out = capsys.readouterr().out
    assert '"auto_accepted_share": 0.5' in out and '"override_rate": 0.5' in out
    assert await cli("audit", "report", "--dataset", "trec6", "--format", "csv", *db) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "section,key,metric,value"
    assert "annotator,ada,confirmation_rate,0.5" in lines
    assert await cli("audit", "report", "--dataset", "trec6", "--from", "2027-01-01", *db) == 0
    assert '"total": 0' in capsys.readouterr().out
    assert await cli("audit", "report", "--dataset", "nope", *db) == 1
    assert "unknown dataset 'nope'" in capsys.readouterr().err
    span = ("--from", "2026-02-01", "--to", "2026-01-01")
    assert await cli("audit", "report", "--dataset", "trec6", *span, *db) == 2
    assert "--from (2026-02-01 00:00:00+00:00) is after --to" in capsys.readouterr().err
