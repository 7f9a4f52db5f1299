"""ingest.clients in Postgres: client keys by their sha256 (the key itself is never stored).

Every change (create, rotate, revoke, scope) writes an AccessChanged event to the outbox in
its transaction: who made it (`actor`; None: `cli:<os user>`), which client, what changed;
never the key nor its hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from mitl_runtime.auth.access_changes import access_changed
from mitl_runtime.auth.tokens import hash_token

from mitl_ingest import outbox
from mitl_ingest.clients import Client, new_key


class ClientExists(Exception):
    pass


class NoSuchClient(Exception):
    pass


@dataclass(frozen=True)
class Listed:
    client: Client
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None


async def _record(
    conn: asyncpg.Connection, action: str, actor: str | None, client_id: str, **changes: Any
) -> None:
    await outbox.add(conn, access_changed("ingest", action, actor, client_id, **changes))


def _client(row: asyncpg.Record) -> Client:
    return Client(
        client_id=row["client_id"],
        datasets=tuple(row["datasets"]),
        rate_per_s=float(row["rate_per_s"]),
        burst=row["burst"],
        max_body_bytes=row["max_body_bytes"],
        revoked=row["revoked_at"] is not None,
    )


async def by_key(pool: asyncpg.Pool, key: str) -> Client | None:
    """The client holding `key`, revoked or not; None for a key that was never issued or has
    been rotated away."""
    row = await pool.fetchrow("SELECT * FROM ingest.clients WHERE key_sha256 = $1", hash_token(key))
    return _client(row) if row is not None else None


async def create(
    pool: asyncpg.Pool,
    client_id: str,
    datasets: tuple[str, ...],
    rate_per_s: float,
    burst: int,
    max_body_bytes: int,
    actor: str | None = None,
) -> str:
    """Create the client and return its key (shown once)."""
    key = new_key()
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO ingest.clients "
                "(client_id, key_sha256, datasets, rate_per_s, burst, max_body_bytes) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                client_id,
                hash_token(key),
                list(datasets),
                rate_per_s,
                burst,
                max_body_bytes,
            )
            await _record(
                conn,
                "client.create",
                actor,
                client_id,
                datasets=list(datasets),
                rate_per_s=rate_per_s,
                burst=burst,
                max_body_bytes=max_body_bytes,
            )
    except asyncpg.UniqueViolationError:
        raise ClientExists(f"a client {client_id!r} exists already") from None
    return key


async def rotate(pool: asyncpg.Pool, client_id: str, actor: str | None = None) -> str:
    """A new key for the client; the old one stops working at once. A revoked client is
    revoked still: rotating does not bring it back."""
    key = new_key()
    async with pool.acquire() as conn, conn.transaction():
        done = await conn.fetchval(
            "UPDATE ingest.clients SET key_sha256 = $2, rotated_at = now() "
            "WHERE client_id = $1 AND revoked_at IS NULL RETURNING client_id",
            client_id,
            hash_token(key),
        )
        if done is None:
            raise NoSuchClient(f"no client {client_id!r} that is not revoked")
        await _record(conn, "client.rotate", actor, client_id)
    return key


async def revoke(pool: asyncpg.Pool, client_id: str, actor: str | None = None) -> bool:
    """Revoke the client's key (at once); False if it was revoked already."""
    async with pool.acquire() as conn, conn.transaction():
        done = await conn.fetchval(
            "UPDATE ingest.clients SET revoked_at = now() "
            "WHERE client_id = $1 AND revoked_at IS NULL RETURNING client_id",
            client_id,
        )
        if done is not None:
            await _record(conn, "client.revoke", actor, client_id)
            return True
    if await pool.fetchval("SELECT 1 FROM ingest.clients WHERE client_id = $1", client_id) is None:
        raise NoSuchClient(f"no client {client_id!r}")
    return False


async def rescope(
    pool: asyncpg.Pool, client_id: str, datasets: tuple[str, ...], actor: str | None = None
) -> tuple[str, ...]:
    """Change the datasets the client's key may write (at once); returns the previous ones."""
    async with pool.acquire() as conn, conn.transaction():
        was = await conn.fetchval(
            "SELECT datasets FROM ingest.clients WHERE client_id = $1 FOR UPDATE", client_id
        )
        if was is None:
            raise NoSuchClient(f"no client {client_id!r}")
        await conn.execute(
            "UPDATE ingest.clients SET datasets = $2 WHERE client_id = $1",
            client_id,
            list(datasets),
        )
        await _record(
            conn, "client.scope", actor, client_id, datasets=list(datasets), was=list(was)
        )
    return tuple(was)


async def listing(pool: asyncpg.Pool) -> list[Listed]:
    rows = await pool.fetch("SELECT * FROM ingest.clients ORDER BY client_id")
    return [Listed(_client(r), r["created_at"], r["rotated_at"], r["revoked_at"]) for r in rows]
