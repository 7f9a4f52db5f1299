"""The database pool of the HTTP handlers.

asyncpg resets a connection's session every time it goes back to its pool (a round trip that
closes cursors, unlistens, resets settings and advisory locks), and every request returns one:
on the claim path that doubled the round trips, and on a busy machine each round trip waits
its turn for a CPU. This service never changes session state (its advisory locks are
transaction-scoped; it sets nothing, listens to nothing, leaves no cursor open), so its
handlers' pool skips that reset. asyncpg still rolls back a transaction left open.

The runtime's pool (migrations, intake, outbox relay, readiness) keeps asyncpg's defaults.
"""

from __future__ import annotations

import asyncpg


async def keep_session(_: asyncpg.Connection) -> None:
    """A pool `reset` that leaves the session as it is (see the module docstring)."""


class RequestPool:
    """Opened in the app's lifespan, after the runtime migrated the schema."""

    def __init__(self) -> None:
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the review API's request pool is not open (app not started)")
        return self._pool

    async def open(self, database_url: str, size: int) -> None:
        pool = await asyncpg.create_pool(
            database_url, min_size=1, max_size=size, reset=keep_session
        )
        assert pool is not None  # asyncpg types it optional; it is only None when not awaited
        self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
