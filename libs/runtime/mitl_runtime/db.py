"""asyncpg pool and per-schema SQL migrations.

Each service owns one schema; its migrations are numbered `.sql` files shipped in its package
(`<package>/migrations/NNN_name.sql`), applied in order once each, under an advisory lock so
that replicas starting together do not race.

A migration line that is exactly a directive stands for shared DDL:
`-- mitl:outbox-table` expands to `mitl_runtime.outbox.DDL`, so that the outbox table is
written down once for every service.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    Row = TypeVar("Row", bound=DataclassInstance)

T = TypeVar("T")
log = logging.getLogger(__name__)
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
OUTBOX_TABLE = "-- mitl:outbox-table"


def from_row(cls: type[Row], row: Mapping[str, Any], **converted: Any) -> Row:
    """The dataclass `cls` from a row whose columns are named as its fields; `converted`
    gives the fields whose columns need parsing first."""
    names = [f.name for f in dataclasses.fields(cls) if f.name not in converted]
    return cls(**{name: row[name] for name in names}, **converted)


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size)
    assert pool is not None  # asyncpg types it optional; it is only None when not awaited
    return pool


def expand(sql: str) -> str:
    """`sql` with each directive line replaced by the DDL it stands for."""
    from mitl_runtime import outbox  # outbox imports this module

    directives = {OUTBOX_TABLE: outbox.DDL}
    return "".join(
        directives.get(line.rstrip("\n"), line) for line in sql.splitlines(keepends=True)
    )


def migration_files(package: str) -> list[tuple[str, str]]:
    """The (name, sql) migrations shipped in `package`, in order, directives expanded."""
    folder = importlib.resources.files(package).joinpath("migrations")
    files = sorted(
        (entry.name, expand(entry.read_text()))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )
    return files


async def migrate(pool: asyncpg.Pool, schema: str, package: str) -> list[str]:
    """Apply the pending migrations of `package` to `schema`; return the names applied."""
    if not SCHEMA_NAME.match(schema):
        raise ValueError(f"not a schema name: {schema!r}")
    applied: list[str] = []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"mitl-migrate-{schema}")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {
            row["name"] for row in await conn.fetch(f"SELECT name FROM {schema}.schema_migrations")
        }
        for name, sql in migration_files(package):
            if name in done:
                continue
            await conn.execute(f"SET LOCAL search_path TO {schema}, public")
            await conn.execute(sql)
            await conn.execute(f"INSERT INTO {schema}.schema_migrations (name) VALUES ($1)", name)
            applied.append(name)
    if applied:
        log.info("schema %s: applied %s", schema, ", ".join(applied))
    return applied


async def with_migrated_pool(
    url: str,
    schema: str,
    package: str,
    action: Callable[[asyncpg.Pool], Awaitable[T]],
    *,
    max_size: int = 1,
) -> T:
    """Run `action` on a small pool of `url` with `schema` migrated first (from `package`),
    and close the pool after: how a one-off command (`mitl users`, `mitl clients`, `mitl
    models`) works in a service's database without the service running."""
    pool = await create_pool(url, min_size=1, max_size=max_size)
    try:
        await migrate(pool, schema, package)
        return await action(pool)
    finally:
        await pool.close()
