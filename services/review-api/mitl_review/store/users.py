"""Users in Postgres. Tokens are looked up by their sha256; the token itself is never stored."""

from __future__ import annotations

import asyncpg

from mitl_review.core.auth import User, hash_token, new_token
from mitl_review.core.errors import Conflict


async def create(pool: asyncpg.Pool, name: str, role: str) -> str:
    """Create a user and return their token (the only time it exists in clear).
    Raises Conflict if the name is taken."""
    token = new_token()
    created = await pool.fetchval(
        """
        INSERT INTO review.users (name, role, token_sha256) VALUES ($1, $2, $3)
        ON CONFLICT (name) DO NOTHING RETURNING name
        """,
        name,
        role,
        hash_token(token),
    )
    if created is None:
        raise Conflict(f"a user named {name!r} already exists")
    return token


async def by_token(pool: asyncpg.Pool, token: str) -> User | None:
    return await by_token_sha256(pool, hash_token(token))


async def by_token_sha256(pool: asyncpg.Pool, token_sha256: str) -> User | None:
    row = await pool.fetchrow(
        "SELECT name, role FROM review.users WHERE token_sha256 = $1", token_sha256
    )
    return User(name=row["name"], role=row["role"]) if row else None
