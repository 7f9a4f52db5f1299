"""The database pool of the HTTP handlers.

asyncpg's pool resets a connection's session every time it goes back (a round trip that
closes cursors, unlistens, resets settings and advisory locks), and every request returns one:
on the claim path that doubled the round trips. This service never changes session state (its
advisory locks are transaction-scoped; it sets nothing, listens to nothing, leaves no cursor
open), so its handlers' connections go back as they are. They are pooled by
`connection_pool.ConnectionPool`, which also skips asyncpg's per-release task and timers; a
connection left inside a transaction, or given back by an interrupted holder, is terminated
instead of reused.

The runtime's pool (migrations, intake, outbox relay, readiness) keeps asyncpg's defaults.
"""

from __future__ import annotations

from functools import partial

import asyncpg

from mitl_review.connection_pool import ConnectionPool


class RequestPool:
    """Opened in the app's lifespan, after the runtime migrated the schema."""

    def __init__(self) -> None:
        self._pool: ConnectionPool | None = None

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None:
            raise RuntimeError("the review API's request pool is not open (app not started)")
        return self._pool

    async def open(self, database_url: str, size: int) -> None:
        pool = ConnectionPool(partial(asyncpg.connect, database_url), size)
        await pool.open()
        self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
