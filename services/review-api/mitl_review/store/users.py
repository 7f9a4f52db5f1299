"""Users in Postgres. Tokens are looked up by their sha256; the token itself is never stored.

Every change that can end a token's validity (rotation, disabling, expiry, assignments) sends
a NOTIFY on CHANGES in its transaction: a running review API drops its cached tokens on it
(see token_cache and user_changes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from mitl_review.core.auth import Account, User, hash_token, new_token
from mitl_review.core.errors import Conflict, NotFound

CHANGES = "mitl_review_users"


@dataclass(frozen=True)
class Listed:
    account: Account
    created_at: datetime


async def _notify(conn: asyncpg.Connection | asyncpg.Pool, user_id: str) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", CHANGES, user_id)


async def create(
    pool: asyncpg.Pool,
    name: str,
    role: str,
    *,
    display_name: str | None = None,
    expires_in: timedelta | None = None,
    datasets: frozenset[str] | None = None,
) -> str:
    """Create a user with the id `name` and return their token (the only time it exists in
    clear). `datasets`, if given, are the only ones they are assigned. Raises Conflict if the
    id is taken."""
    token = new_token()
    async with pool.acquire() as conn, conn.transaction():
        created = await conn.fetchval(
            """
            INSERT INTO review.users
                (user_id, display_name, role, token_sha256, token_expires_at, scoped)
            VALUES ($1, $2, $3, $4, now() + $5::interval, $6)
            ON CONFLICT (user_id) DO NOTHING RETURNING user_id
            """,
            name,
            display_name or name,
            role,
            hash_token(token),
            expires_in,
            datasets is not None,
        )
        if created is None:
            raise Conflict(f"a user named {name!r} already exists")
        if datasets:
            await conn.executemany(
                "INSERT INTO review.user_datasets (user_id, dataset) VALUES ($1, $2)",
                [(name, d) for d in sorted(datasets)],
            )
    return token


ACCOUNT = """
SELECT u.user_id, u.display_name, u.role, u.disabled_at, u.token_expires_at, u.scoped,
       u.created_at,
       ARRAY(SELECT d.dataset FROM review.user_datasets AS d
             WHERE d.user_id = u.user_id ORDER BY d.dataset) AS datasets
FROM review.users AS u
"""


def account_of(row: asyncpg.Record) -> Account:
    datasets = frozenset(row["datasets"]) if row["scoped"] else None
    user = User(
        id=row["user_id"], role=row["role"], display_name=row["display_name"], datasets=datasets
    )
    return Account(user, row["disabled_at"], row["token_expires_at"])


async def by_token(pool: asyncpg.Pool, token: str) -> tuple[Account, datetime] | None:
    return await by_token_sha256(pool, hash_token(token))


async def by_token_sha256(pool: asyncpg.Pool, token_sha256: str) -> tuple[Account, datetime] | None:
    """The account holding this token and the database's time now; None for no account."""
    row = await pool.fetchrow(
        f"SELECT a.*, now() AS now FROM ({ACCOUNT} WHERE u.token_sha256 = $1) AS a",
        token_sha256,
    )
    return (account_of(row), row["now"]) if row else None


async def listed(pool: asyncpg.Pool) -> list[Listed]:
    rows = await pool.fetch(f"{ACCOUNT} ORDER BY u.user_id")
    return [Listed(account_of(r), r["created_at"]) for r in rows]


async def set_disabled(pool: asyncpg.Pool, user_id: str, disabled: bool) -> None:
    """Disable (from now) or enable a user. Raises NotFound for an unknown id."""
    async with pool.acquire() as conn, conn.transaction():
        found = await conn.fetchval(
            """
            UPDATE review.users SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now())
                                                       ELSE NULL END
            WHERE user_id = $1 RETURNING user_id
            """,
            user_id,
            disabled,
        )
        if found is None:
            raise NotFound(f"no user {user_id!r}")
        await _notify(conn, user_id)


async def rotate_token(pool: asyncpg.Pool, user_id: str, expires_in: timedelta | None) -> str:
    """Give the user a new token (returned, shown once); the old one stops working at once.
    The new token expires `expires_in` from now (None: never)."""
    token = new_token()
    async with pool.acquire() as conn, conn.transaction():
        found = await conn.fetchval(
            """
            UPDATE review.users SET token_sha256 = $2, token_rotated_at = now(),
                                    token_expires_at = now() + $3::interval
            WHERE user_id = $1 RETURNING user_id
            """,
            user_id,
            hash_token(token),
            expires_in,
        )
        if found is None:
            raise NotFound(f"no user {user_id!r}")
        await _notify(conn, user_id)
    return token


async def assign(pool: asyncpg.Pool, user_id: str, datasets: frozenset[str]) -> None:
    """Assign datasets; from the first assignment on the user works only on assigned ones."""
    async with pool.acquire() as conn, conn.transaction():
        role = await conn.fetchval(
            "UPDATE review.users SET scoped = true WHERE user_id = $1 RETURNING role", user_id
        )
        if role is None:
            raise NotFound(f"no user {user_id!r}")
        await conn.executemany(
            "INSERT INTO review.user_datasets (user_id, dataset) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING",
            [(user_id, d) for d in sorted(datasets)],
        )
        await _notify(conn, user_id)


async def unassign(pool: asyncpg.Pool, user_id: str, datasets: frozenset[str]) -> None:
    """Take datasets away. A user whose last dataset is taken away works on none (never on
    every dataset again). Conflict for a user never assigned one."""
    async with pool.acquire() as conn, conn.transaction():
        scoped = await conn.fetchval(
            "SELECT scoped FROM review.users WHERE user_id = $1 FOR UPDATE", user_id
        )
        if scoped is None:
            raise NotFound(f"no user {user_id!r}")
        if not scoped:
            raise Conflict(
                f"user {user_id!r} was never assigned a dataset and works on every one; "
                "assign the datasets they should keep instead"
            )
        await conn.execute(
            "DELETE FROM review.user_datasets WHERE user_id = $1 AND dataset = ANY($2::text[])",
            user_id,
            sorted(datasets),
        )
        await _notify(conn, user_id)
