"""The handlers' connection pool: connections go back as they are, at most `size` are open,
waiters are served in order, and a connection that may be unusable is replaced."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mitl_review.connection_pool import ConnectionPool, PoolClosed


class FakeConnection:
    def __init__(self, number: int) -> None:
        self.number = number
        self.closed = False
        self.terminated = False
        self.in_transaction = False

    def is_closed(self) -> bool:
        return self.closed

    def is_in_transaction(self) -> bool:
        return self.in_transaction

    def terminate(self) -> None:
        self.closed = self.terminated = True

    async def close(self) -> None:
        self.closed = True

    async def fetchval(self, query: str, *args: Any) -> Any:
        return (self.number, query, args)


class Connector:
    def __init__(self) -> None:
        self.made: list[FakeConnection] = []
        self.fail = False

    async def __call__(self) -> FakeConnection:
        await asyncio.sleep(0)
        if self.fail:
            raise OSError("connection refused")
        conn = FakeConnection(len(self.made))
        self.made.append(conn)
        return conn


def pool_of(size: int) -> tuple[ConnectionPool, Connector]:
    connector = Connector()
    return ConnectionPool(connector, size), connector  # type: ignore[arg-type]


def test_a_connection_given_back_is_reused_as_it_is() -> None:
    async def run() -> None:
        pool, connector = pool_of(3)
        await pool.open()
        for _ in range(5):
            async with pool.acquire() as conn:
                assert conn is connector.made[0]
        assert await pool.fetchval("SELECT $1", 1) == (0, "SELECT $1", (1,))
        assert len(connector.made) == 1 and pool.opened == 1
        assert not connector.made[0].closed

    asyncio.run(run())


def test_a_connection_lost_while_idle_is_replaced_not_handed_out() -> None:
    async def run() -> None:
        pool, connector = pool_of(1)
        await pool.open()
        connector.made[0].closed = True  # the server went away meanwhile
        async with pool.acquire() as conn:
            assert conn is connector.made[1] and not conn.closed
        assert pool.opened == 1 and pool.idle == [connector.made[1]]

    asyncio.run(run())


def test_no_more_than_size_are_open_and_waiters_are_served_in_order() -> None:
    async def run() -> None:
        pool, connector = pool_of(2)
        order: list[int] = []
        release = asyncio.Event()

        async def work(n: int) -> None:
            async with pool.acquire():
                order.append(n)
                await release.wait()

        tasks = [asyncio.create_task(work(n)) for n in range(5)]
        for _ in range(5):
            await asyncio.sleep(0)
        assert order == [0, 1] and len(connector.made) == 2
        release.set()
        await asyncio.gather(*tasks)
        assert order == [0, 1, 2, 3, 4]
        assert len(connector.made) == 2 and pool.opened == 2 and len(pool.idle) == 2

    asyncio.run(run())


def test_an_error_of_the_work_leaves_the_connection_in_the_pool() -> None:
    async def run() -> None:
        pool, connector = pool_of(1)
        with pytest.raises(ValueError):
            async with pool.acquire():
                raise ValueError("bad request")
        async with pool.acquire() as conn:
            assert conn is connector.made[0] and not conn.closed

    asyncio.run(run())


@pytest.mark.parametrize("leave", ["transaction", "cancelled", "timeout", "closed"])
def test_a_connection_that_may_be_unusable_is_replaced(leave: str) -> None:
    async def run() -> None:
        pool, connector = pool_of(1)
        first: Any = None

        async def hold() -> None:
            nonlocal first
            async with pool.acquire() as conn:
                first = conn
                if leave == "transaction":
                    conn.in_transaction = True
                elif leave == "closed":
                    conn.closed = True
                elif leave == "timeout":
                    raise TimeoutError
                else:
                    await asyncio.sleep(10)

        task = asyncio.create_task(hold())
        await asyncio.sleep(0.01)
        if leave == "cancelled":
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert first.closed and pool.opened == 0 and not pool.idle
        async with pool.acquire() as conn:
            assert conn is connector.made[1]
        assert pool.opened == 1

    asyncio.run(run())


def test_a_waiter_opens_a_connection_in_place_of_one_dropped() -> None:
    async def run() -> None:
        pool, connector = pool_of(1)
        got: list[Any] = []

        async def broken() -> None:
            async with pool.acquire() as conn:
                await asyncio.sleep(0.01)
                conn.in_transaction = True

        async def waiting() -> None:
            async with pool.acquire() as conn:
                got.append(conn)

        await asyncio.gather(broken(), waiting())
        assert got == [connector.made[1]] and pool.opened == 1

    asyncio.run(run())


def test_a_cancelled_waiter_passes_its_turn_on() -> None:
    async def run() -> None:
        pool, connector = pool_of(1)
        got: list[Any] = []
        release = asyncio.Event()

        async def holder() -> None:
            async with pool.acquire():
                await release.wait()

        async def waiting() -> None:
            async with pool.acquire() as conn:
                got.append(conn)

        first = asyncio.create_task(holder())
        await asyncio.sleep(0.01)
        cancelled = asyncio.create_task(waiting())
        served = asyncio.create_task(waiting())
        await asyncio.sleep(0.01)
        cancelled.cancel()
        release.set()
        await asyncio.gather(first, cancelled, served, return_exceptions=True)
        assert got == [connector.made[0]] and pool.idle == [connector.made[0]]

    asyncio.run(run())


def test_a_failed_connect_frees_its_place() -> None:
    async def run() -> None:
        pool, connector = pool_of(1)
        connector.fail = True
        with pytest.raises(OSError):
            await pool.open()
        assert pool.opened == 0
        connector.fail = False
        await pool.open()
        assert pool.opened == 1

    asyncio.run(run())


def test_closing_closes_idle_connections_and_refuses_new_takes() -> None:
    async def run() -> None:
        pool, connector = pool_of(2)
        release = asyncio.Event()

        async def holder() -> None:
            async with pool.acquire():
                await release.wait()

        held = asyncio.create_task(holder())
        await asyncio.sleep(0.01)
        await pool.open()  # a second connection, given back at once: idle
        assert pool.idle == [connector.made[1]]
        await pool.close()
        assert connector.made[1].closed and not connector.made[0].closed
        release.set()
        await held
        assert connector.made[0].terminated and pool.opened == 0
        with pytest.raises(PoolClosed):
            async with pool.acquire():
                pass

    asyncio.run(run())


def test_a_pool_needs_room() -> None:
    with pytest.raises(ValueError, match="at least one"):
        pool_of(0)
