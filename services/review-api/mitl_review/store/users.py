"""Users in Postgres. Tokens are looked up by their sha256; the token itself is never stored.

Every change of a user's credential, role or datasets writes an AccessChanged event (who did
it, to whom, what changed; never a token or its hash) to the outbox in its transaction: the
relay publishes it to mitl.access.v1, and audit chains it.

Every change that can end a token's validity (rotation, disabling, expiry, assignments) sends
a NOTIFY on CHANGES in its transaction: a running review API drops its cached tokens on it
(see token_cache and user_changes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from mitl_contracts import topics
from mitl_runtime.auth.access_changes import access_changed

from mitl_review.core.auth import Account, Role, User, hash_token, new_token
from mitl_review.core.errors import Conflict, NotFound
from mitl_review.store import outbox

CHANGES = "mitl_review_users"


@dataclass(frozen=True)
class Listed:
    account: Account
    created_at: datetime
    # The database's time when it was read (what the status is judged at).
    now: datetime
    # The identity provider of a person who signs in through SSO; None for a token user.
    sso_issuer: str | None = None


async def _notify(conn: asyncpg.Connection | asyncpg.Pool, user_id: str) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", CHANGES, user_id)


async def _record(
    conn: asyncpg.Connection, action: str, actor: str | None, subject: str, **changes: Any
) -> None:
    """The change as an AccessChanged event in the outbox, in the caller's transaction.
    `actor` None: whoever runs this process (`cli:<os user>`)."""
    event = access_changed("review-api", action, actor, subject, **changes)
    await outbox.add(conn, topics.ACCESS, event)


async def create(
    pool: asyncpg.Pool,
    name: str,
    role: str,
    *,
    display_name: str | None = None,
    expires_in: timedelta | None = None,
    datasets: frozenset[str] | None = None,
    actor: str | None = None,
) -> str:
    """Create a user with the id `name` and return their token (the only time it exists in
    clear). `datasets`, if given, are the only ones they are assigned. Raises Conflict if the
    id is taken."""
    token = new_token()
    async with pool.acquire() as conn, conn.transaction():
        created = await conn.fetchrow(
            """
            INSERT INTO review.users
                (user_id, display_name, role, token_sha256, token_expires_at, scoped)
            VALUES ($1, $2, $3, $4, now() + $5::interval, $6)
            ON CONFLICT (user_id) DO NOTHING RETURNING token_expires_at
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
        expires_at = created["token_expires_at"]
        await _record(
            conn,
            "user.create",
            actor,
            name,
            role=role,
            display_name=display_name or name,
            datasets=None if datasets is None else sorted(datasets),
            expires_at=expires_at.isoformat() if expires_at else None,
        )
    return token


ACCOUNT = """
SELECT u.user_id, u.display_name, u.role, u.disabled_at, u.token_expires_at, u.scoped,
       u.created_at, u.sso_issuer,
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


def listed_of(row: asyncpg.Record) -> Listed:
    return Listed(account_of(row), row["created_at"], row["now"], row["sso_issuer"])


async def listed(pool: asyncpg.Pool) -> list[Listed]:
    rows = await pool.fetch(f"SELECT a.*, now() AS now FROM ({ACCOUNT}) AS a ORDER BY a.user_id")
    return [listed_of(r) for r in rows]


async def by_id(pool: asyncpg.Pool, user_id: str) -> Listed:
    """The user with this id; NotFound if there is none."""
    row = await pool.fetchrow(
        f"SELECT a.*, now() AS now FROM ({ACCOUNT} WHERE u.user_id = $1) AS a", user_id
    )
    if row is None:
        raise NotFound(f"no user {user_id!r}")
    return listed_of(row)


async def display_names(pool: asyncpg.Pool, user_ids: list[str]) -> dict[str, str]:
    """user id -> display name, for the ids that are users."""
    rows = await pool.fetch(
        "SELECT user_id, display_name FROM review.users WHERE user_id = ANY($1::text[])",
        user_ids,
    )
    return {r["user_id"]: r["display_name"] for r in rows}


async def sso_user(
    pool: asyncpg.Pool,
    issuer: str,
    subject: str,
    user_id: str,
    display_name: str | None,
    role: Role,
) -> tuple[Account, datetime]:
    """The account of the person the identity provider knows as (issuer, subject), created
    on first use with `user_id` (user.sso-create; named `display_name`, else the subject),
    its role brought in line with the JWT's (user.role) and its display name with the name
    claim when the JWT has one; and the database's time now. Both changes are recorded as
    done by `oidc:<issuer>`."""
    by = f"oidc:{issuer}"
    select = (
        "SELECT user_id, role, display_name FROM review.users "
        "WHERE sso_issuer = $1 AND sso_subject = $2 FOR UPDATE"
    )
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(select, issuer, subject)
        if row is None:
            name = display_name or subject
            created = await conn.fetchval(
                """
                INSERT INTO review.users (user_id, display_name, role, sso_issuer, sso_subject)
                VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT DO NOTHING RETURNING user_id
                """,
                user_id,
                name,
                role,
                issuer,
                subject,
            )
            if created is not None:
                await _record(conn, "user.sso-create", by, user_id, role=role, display_name=name)
            else:  # a concurrent first sign-in created them (or the id is someone else's)
                row = await conn.fetchrow(select, issuer, subject)
                if row is None:
                    raise Conflict(f"the user id {user_id!r} is taken by another user")
        if row is not None:
            user_id = row["user_id"]
            if row["role"] != role:
                await conn.execute(
                    "UPDATE review.users SET role = $2 WHERE user_id = $1", user_id, role
                )
                await _record(conn, "user.role", by, user_id, role=role, was=row["role"])
                await _notify(conn, user_id)
            if display_name is not None and row["display_name"] != display_name:
                await conn.execute(
                    "UPDATE review.users SET display_name = $2 WHERE user_id = $1",
                    user_id,
                    display_name,
                )
        found = await conn.fetchrow(
            f"SELECT a.*, now() AS now FROM ({ACCOUNT} WHERE u.user_id = $1) AS a", user_id
        )
    return account_of(found), found["now"]


async def set_disabled(
    pool: asyncpg.Pool, user_id: str, disabled: bool, actor: str | None = None
) -> None:
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
        await _record(conn, "user.disable" if disabled else "user.enable", actor, user_id)
        await _notify(conn, user_id)


async def rotate_token(
    pool: asyncpg.Pool, user_id: str, expires_in: timedelta | None, actor: str | None = None
) -> tuple[str, datetime | None]:
    """Give the user a new token (returned, shown once, with its expiry); the old one stops
    working at once. The new token expires `expires_in` from now (None: never). Conflict for
    a person who signs in through SSO (they hold no token of ours)."""
    token = new_token()
    async with pool.acquire() as conn, conn.transaction():
        sso = await conn.fetchval(
            "SELECT sso_issuer IS NOT NULL FROM review.users WHERE user_id = $1 FOR UPDATE",
            user_id,
        )
        if sso is None:
            raise NotFound(f"no user {user_id!r}")
        if sso:
            raise Conflict(
                f"user {user_id!r} signs in through single sign-on and holds no token; disable "
                "them to refuse their sign-in"
            )
        expires_at = await conn.fetchval(
            """
            UPDATE review.users SET token_sha256 = $2, token_rotated_at = now(),
                                    token_expires_at = now() + $3::interval
            WHERE user_id = $1 RETURNING token_expires_at
            """,
            user_id,
            hash_token(token),
            expires_in,
        )
        await _record(
            conn,
            "user.rotate-token",
            actor,
            user_id,
            expires_at=expires_at.isoformat() if expires_at else None,
        )
        await _notify(conn, user_id)
    return token, expires_at


async def assign(
    pool: asyncpg.Pool, user_id: str, datasets: frozenset[str], actor: str | None = None
) -> None:
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
        await _record(conn, "user.assign", actor, user_id, datasets=sorted(datasets))
        await _notify(conn, user_id)


async def unassign(
    pool: asyncpg.Pool, user_id: str, datasets: frozenset[str], actor: str | None = None
) -> None:
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
        await _record(conn, "user.unassign", actor, user_id, datasets=sorted(datasets))
        await _notify(conn, user_id)
