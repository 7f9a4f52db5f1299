"""A pool of database connections handed out and taken back without asyncpg's per-use work.

asyncpg's `Pool` spends about 100 µs of CPU on each acquire and release (measured with uvloop
on the development VM: `SELECT 1` through its pool 162-167 µs, on a bare connection 66-68
µs): each release runs as a new task under `asyncio.shield`, inside a timeout context, through
the reset coroutines, and re-arms an inactivity timer; each acquire goes through two more
coroutines and an `asyncio.Queue`. A claim and a submission take one connection each, so that
was a tenth of the review API's CPU per item. Here an acquire takes an idle connection from a
list and a release puts it back, both without a task, timer or further await.

What the handlers use of asyncpg's pool is kept: `acquire()` as an async context manager
giving a connection (the same `asyncpg.Connection`), and `fetch`, `fetchrow`, `fetchval` and
`execute` on a connection acquired for that one call. A connection goes back as it is, with no
session reset (see request_pool), unless it may be unusable: closed, still inside a
transaction (one its holder left open: the server rolls it back when the connection ends), or
given back by a holder that was cancelled or timed out or otherwise interrupted (a query may
still be running on it). Such a connection is terminated and the next acquire opens a new one
in its place. At most `size` connections are open; an acquire beyond that waits for one to be
given back, first come first served.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import asyncpg

Connect = Callable[[], Awaitable[asyncpg.Connection]]


class PoolClosed(RuntimeError):
    pass


class ConnectionPool:
    def __init__(self, connect: Connect, size: int) -> None:
        if size < 1:
            raise ValueError(f"a pool needs room for at least one connection, not {size}")
        self.connect = connect
        self.size = size
        self.idle: list[asyncpg.Connection] = []
        # Connections open, being opened, or handed out.
        self.opened = 0
        # Each waiter gets a connection, or None: room to open one.
        self.waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self.closed = False

    def acquire(self) -> Lease:
        return Lease(self)

    async def take(self) -> asyncpg.Connection:
        while True:
            if self.closed:
                raise PoolClosed("the database pool is closed")
            while self.idle:
                conn = self.idle.pop()
                if not conn.is_closed():
                    return conn
                # Lost while idle (the server restarted, a proxy dropped it): asyncpg saw
                # the socket close. Not handed out to fail a request; a new one instead.
                self.opened -= 1
            if self.opened < self.size:
                break
            handed = await self.wait()
            if handed is not None:
                return handed
            # None: a connection was dropped, so there may be room to open one (look again:
            # a take that did not wait may have used it).
        # Counted before the connection is open, so that concurrent takes don't overshoot.
        self.opened += 1
        try:
            return await self.connect()
        except BaseException:
            self.opened -= 1
            self.hand(None)
            raise

    async def wait(self) -> asyncpg.Connection | None:
        waiter: asyncio.Future[asyncpg.Connection | None] = (
            asyncio.get_running_loop().create_future()
        )
        self.waiters.append(waiter)
        try:
            return await waiter
        except BaseException:
            if waiter in self.waiters:
                self.waiters.remove(waiter)
            elif waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # Handed something just as the wait was interrupted: pass it on.
                self.hand(waiter.result())
            raise

    def give_back(self, conn: asyncpg.Connection, reusable: bool) -> None:
        if reusable and not self.closed and not conn.is_closed() and not conn.is_in_transaction():
            self.hand(conn)
            return
        if not conn.is_closed():
            conn.terminate()
        self.opened -= 1
        if not self.closed:
            self.hand(None)

    def hand(self, conn: asyncpg.Connection | None) -> None:
        """To the first waiter (a connection, or None: room to open one), else to the idle list."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if conn is not None:
            if self.closed:
                conn.terminate()
                self.opened -= 1
            else:
                self.idle.append(conn)

    async def open(self) -> None:
        """Open one connection now, so that a database that cannot be reached fails start-up."""
        async with self.acquire():
            pass

    async def close(self) -> None:
        """Close the idle connections; one still handed out is terminated when given back."""
        self.closed = True
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_exception(PoolClosed("the database pool is closed"))
        self.waiters.clear()
        idle, self.idle = self.idle, []
        for conn in idle:
            self.opened -= 1
            await conn.close()

    async def fetch(self, query: str, *args: Any, **options: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.fetch(query, *args, **options)

    async def fetchrow(self, query: str, *args: Any, **options: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.fetchrow(query, *args, **options)

    async def fetchval(self, query: str, *args: Any, **options: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.fetchval(query, *args, **options)

    async def execute(self, query: str, *args: Any, **options: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.execute(query, *args, **options)


class Lease:
    """`async with pool.acquire() as conn`: the connection, given back on leaving."""

    __slots__ = ("conn", "pool")

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        self.conn = await self.pool.take()
        return self.conn

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        # An error the query answered (or the caller's own) leaves the connection usable; an
        # interruption (cancelled, timed out) may leave a query running on it.
        interrupted = error is not None and (
            not isinstance(error, Exception) or isinstance(error, TimeoutError)
        )
        self.pool.give_back(conn, reusable=not interrupted)
